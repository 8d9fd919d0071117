-- exa.mock.words: the vocabulary of the fake research.
return {
  first = { "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie",
    "Margaret", "John", "Katherine", "Dennis", "Shafi", "Tim" },
  last = { "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman",
    "Lamport", "Hamilton", "Backus", "Johnson", "Ritchie", "Goldwasser", "Berners" },
  company = { "Acme Compute", "Northwind Labs", "Globex Systems", "Initech AI", "Umbrella Data",
    "Stark Inference", "Wayne Vector", "Tyrell Robotics", "Cyberdyne Cloud", "Soylent Search",
    "Hooli Infra", "Pied Piper", "Vandelay Models", "Aperture Agents", "Massive Dynamic" },
  role = { "VP of Engineering", "Head of Infrastructure", "CTO", "Director of Engineering",
    "Engineering Manager", "Chief Scientist", "Head of Platform" },
  round = { "Seed", "Series A", "Series B", "Series C" },
  city = { "San Francisco", "New York", "London", "Berlin", "Paris", "Toronto", "Singapore", "Tel Aviv" },
  country = { "United States", "United Kingdom", "Germany", "France", "Canada", "Singapore", "Israel" },
  topic = { "AI infrastructure", "developer tools", "vector databases", "agent evaluation",
    "GPU clouds", "model serving", "data pipelines" },
  site = { "news.example.com", "research.example.org", "blog.example.net", "press.example.com",
    "data.example.org", "wire.example.net" },
}
