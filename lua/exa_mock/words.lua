-- exa_mock.words: the vocabulary of the fake research.
return {
  first = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie",
    "Margaret", "John", "Katherine", "Dennis", "Shafi", "Tim" },
  last = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman",
    "Lamport", "Hamilton", "Backus", "Johnson", "Ritchie", "Goldwasser", "Berners" },
  company = { "Acme Compute", "Northwind Labs", "Globex Systems", "Initech AI", "Umbrella Data",
    "Stark Inference", "Wayne Vector", "Tyrell Robotics", "Cyberdyne Cloud", "Soylent Search",
    "Hooli Infra", "Pied Piper", "Vandelay Models", "Aperture Agents", "Massive Dynamic" },
  -- brand x suffix: more distinct company names once the list above is used up
  brand = { "Blue Harbor", "Quantum Fern", "Iron Lattice", "Silver Kite", "Red Summit", "Bright Delta",
    "Copper Owl", "Granite Loop", "Nimbus Forge", "Velvet Ridge", "Amber Circuit", "Polar Thread" },
  suffix = { "AI", "Labs", "Systems", "Cloud", "Data", "Compute", "Networks", "Robotics" },
  role = { "VP of Engineering", "Head of Infrastructure", "CTO", "Director of Engineering",
    "Engineering Manager", "Chief Scientist", "Head of Platform", "CEO", "Co-founder" },
  round = { "Seed", "Series A", "Series B", "Series C" },
  city = { "San Francisco", "New York", "London", "Berlin", "Paris", "Toronto", "Singapore", "Tel Aviv" },
  country = { "United States", "United Kingdom", "Germany", "France", "Canada", "Singapore", "Israel" },
  -- where each city is, by index into city
  city_country = { 1, 1, 2, 3, 4, 5, 6, 7 },
  topic = { "AI infrastructure", "developer tools", "vector databases", "agent evaluation",
    "GPU clouds", "model serving", "data pipelines" },
  site = { "news.example.com", "research.example.org", "blog.example.net", "wire.example.net",
    "data.example.org" },
  press = { "press.example.com", "ir.example.org", "newsroom.example.net" },
}
