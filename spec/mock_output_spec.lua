-- The simulator's fake research is coherent: one set of findings feeds the
-- progress events, the answer text, the structured value and its grounding;
-- and it is reproducible under --seed. Driven with curl, like the other mock specs.
if _VERSION ~= "Lua 5.4" then return end -- the simulator and its specs are Lua 5.4 only

local mock = require "helpers.mock"
local json = require "exa_mock.json"
local schema = require "exa_mock.schema"

local COMPANIES = [[{"type":"object","required":["companies"],"properties":{"companies":{"type":"array",
  "maxItems":5,"items":{"type":"object","required":["name","round","amount","sourceUrl"],
  "additionalProperties":false,"properties":{"name":{"type":"string"},"round":{"type":"string"},
  "amount":{"type":"string"},"sourceUrl":{"type":"string","format":"uri"}}}}}}]]

local PEOPLE = [[{"$defs":{"person":{"type":"object","required":["name","email","linkedin_url","title"],
  "properties":{"name":{"type":"string"},"email":{"type":"string","format":"email"},
  "linkedin_url":{"type":"string","format":"uri"},"title":{"type":"string"}}}},
  "type":"object","required":["companies","lead"],"properties":{
  "companies":{"type":"array","minItems":3,"maxItems":3,"items":{"type":"object",
    "required":["company","round","website","ceo"],"properties":{"company":{"type":"string"},
    "round":{"enum":["Series A","Series B"]},"website":{"type":"string","format":"uri"},
    "ceo":{"$ref":"#/$defs/person"}}}},
  "lead":{"type":"string"}}}]]

-- Every event of a run, through the JSON events endpoint (all pages).
local function events_of(srv, id)
  local out, cursor = {}, nil
  repeat
    local st, _, page = srv:api("GET", "/agent/runs/" .. id .. "/events?limit=100"
      .. (cursor and ("&cursor=" .. cursor) or ""))
    assert.equal(200, st)
    for _, ev in ipairs(page.data) do out[#out + 1] = ev end
    cursor = page.nextCursor ~= json.null and page.nextCursor or nil
  until not cursor
  return out
end

local function research(srv, body)
  local st, _, run = srv:api("POST", "/agent/runs", body)
  assert.equal(200, st)
  local done = srv:wait_run(run.id)
  assert.equal("completed", done.status)
  return done, events_of(srv, run.id)
end

local function with_schema(query, s, extra)
  return ('{"query":%s,"effort":"low","outputSchema":%s%s}'):format(json.encode(query), s, extra or "")
end

-- grounding by field
local function grounding_of(run)
  local by = {}
  for _, g in ipairs(run.output.grounding) do by[g.field] = g end
  return by
end

-- URL -> id of the source.added event that added it (ids are "1", "2", ...)
local function added_sources(events)
  local added = {}
  for _, ev in ipairs(events) do
    if ev.event == "agent_run.source.added" then
      assert.is_nil(added[ev.data.source.url], "source added twice: " .. ev.data.source.url)
      added[ev.data.source.url] = tonumber(ev.id)
    end
  end
  return added
end

local function completed_id(events)
  for _, ev in ipairs(events) do
    if ev.event == "agent_run.completed" then return tonumber(ev.id) end
  end
end

local function assert_distinct(list, what)
  local seen = {}
  for _, v in ipairs(list) do
    assert.is_nil(seen[v], what .. " repeated: " .. tostring(v))
    seen[v] = true
  end
end

local function has_text(text, s)
  return text:find(s, 1, true) ~= nil
end

-- Every citation was added by a source.added event before the run completed.
local function assert_citations_added(run, events)
  local added, done = added_sources(events), completed_id(events)
  assert.truthy(done)
  for _, g in ipairs(run.output.grounding) do
    assert.truthy(#g.citations >= 1 and #g.citations <= 2, g.field)
    for _, c in ipairs(g.citations) do
      assert.truthy(added[c.url], g.field .. " cites " .. c.url .. " that no source.added event added")
      assert.truthy(added[c.url] < done)
      assert.is_string(c.title)
    end
  end
end

describe("exa-agent-mock research output", function()
  local srv
  setup(function() srv = mock.start { "--speed", "100", "--seed", "11" } end)
  teardown(function() srv:stop() end)

  it("names distinct findings whose own source grounds each field", function()
    local run, events = research(srv, with_schema("Series A or Series B AI infrastructure rounds", COMPANIES))
    local cs = run.output.structured.companies
    assert(schema.validate(json.decode(COMPANIES), run.output.structured))
    assert.truthy(#cs >= 2)
    local names, urls = {}, {}
    for i, c in ipairs(cs) do names[i], urls[i] = c.name, c.sourceUrl end
    assert_distinct(names, "name")
    assert_distinct(urls, "sourceUrl")
    local by = grounding_of(run)
    for i, c in ipairs(cs) do
      for _, k in ipairs { "name", "round", "amount", "sourceUrl" } do
        local g = by[("structured.companies[%d].%s"):format(i - 1, k)]
        assert.truthy(g, k)
        assert.equal(c.sourceUrl, g.citations[1].url) -- the item's own source first
      end
    end
    assert_citations_added(run, events)
  end)

  it("says in the text what the structured value says, citing [n] sources", function()
    local run = research(srv, with_schema("funding rounds", COMPANIES))
    local text = run.output.text
    for _, c in ipairs(run.output.structured.companies) do
      assert.truthy(has_text(text, c.name), c.name .. " is not in the text")
      assert.truthy(has_text(text, c.amount .. " " .. c.round), c.name .. ": round/amount differ from the text")
      local n = text:match("%[(%d+)%] " .. c.sourceUrl:gsub("%p", "%%%0"))
      assert.truthy(n, c.sourceUrl .. " is not in the text's source list")
      local line = text:match("\n%d+%. " .. c.name:gsub("%p", "%%%0") .. "[^\n]*")
      assert.truthy(line and has_text(line, "[" .. n .. "]"), c.name .. " does not cite its source")
    end
  end)

  it("emits search traces and sources about the same findings", function()
    local run, events = research(srv, with_schema("funding rounds", COMPANIES))
    local added = added_sources(events)
    for _, c in ipairs(run.output.structured.companies) do assert.truthy(added[c.sourceUrl], c.sourceUrl) end
    local titles, traces = {}, {}
    for _, ev in ipairs(events) do
      if ev.event == "agent_run.source.added" then titles[#titles + 1] = ev.data.source.title end
      if ev.event == "agent_run.search_trace" then traces[#traces + 1] = ev.data.text end
    end
    assert.equal(run.usage.searches, #traces)
    local all_titles = table.concat(titles, "\n")
    for _, c in ipairs(run.output.structured.companies) do
      assert.truthy(has_text(all_titles, c.name), c.name .. " is in no source title")
    end
  end)

  it("grounds nested fields and profile links in their own item's sources", function()
    local run, events = research(srv, with_schema("Series B developer tools companies", PEOPLE))
    local v = run.output.structured
    assert(schema.validate(json.decode(PEOPLE), v))
    local companies, people, sites = {}, {}, {}
    for i, c in ipairs(v.companies) do
      companies[i], people[i], sites[i] = c.company, c.ceo.name, c.website
    end
    assert_distinct(companies, "company")
    assert_distinct(people, "ceo")
    assert_distinct(sites, "website")
    local by = grounding_of(run)
    for i, c in ipairs(v.companies) do
      local p = ("structured.companies[%d]"):format(i - 1)
      assert.equal(c.website, by[p .. ".website"].citations[1].url)
      assert.equal(c.website, by[p .. ".ceo.email"].citations[1].url)
      local cits = by[p .. ".ceo.linkedin_url"].citations
      assert.equal(c.website, cits[1].url)
      assert.equal(c.ceo.linkedin_url, cits[2].url) -- the uri value is among its citations
      assert.truthy(has_text(run.output.text, c.company))
      assert.truthy(has_text(run.output.text, c.ceo.name))
      assert.truthy(has_text(run.output.text, c.round)) -- the enum's pick is the finding's round
    end
    assert.equal(3, run.usage.emails)
    assert_citations_added(run, events)
  end)

  it("makes row items about their rows, and grounds them", function()
    local S = '{"type":"array","items":{"type":"object","required":["company","person","url"],'
      .. '"properties":{"company":{"type":"string"},"domain":{"type":"string"},"person":{"type":"string"},'
      .. '"url":{"type":"string","format":"uri"}}}}'
    local extra = ',"input":{"data":[{"company":"Apple","domain":"apple.com"},{"company":"Microsoft"}]}'
    local run, events = research(srv, with_schema("executives", S, extra))
    local v = run.output.structured
    assert.equal(2, #v)
    assert.same({ "Apple", "Microsoft" }, { v[1].company, v[2].company })
    assert.are_not.equal(v[1].url, v[2].url)
    assert.are_not.equal(v[1].person, v[2].person)
    local by = grounding_of(run)
    for i, item in ipairs(v) do
      assert.truthy(has_text(run.output.text, item.company))
      assert.truthy(has_text(run.output.text, item.person))
      assert.equal(item.url, by[("structured[%d].url"):format(i - 1)].citations[1].url)
      assert.equal(item.url, by[("structured[%d].company"):format(i - 1)].citations[1].url)
    end
    assert_citations_added(run, events)
  end)

  it("grounds a plain answer in sources the run added", function()
    local run, events = research(srv, '{"query":"what is new in vector databases","effort":"high"}')
    assert.equal(1, #run.output.grounding)
    assert.equal("text", run.output.grounding[1].field)
    assert_citations_added(run, events)
    for url, _ in pairs(added_sources(events)) do
      assert.truthy(has_text(run.output.text, url), url .. " is not in the text")
    end
  end)

  it("gives the same output for the same --seed and request, another for another seed", function()
    local body = with_schema("Series A rounds", COMPANIES)
    local a = research(srv, body).output
    local b = research(srv, body).output
    local s2 = mock.start { "--speed", "100", "--seed", "11" }
    local c = research(s2, body).output
    s2:stop()
    local s3 = mock.start { "--speed", "100", "--seed", "12" }
    local d = research(s3, body).output
    s3:stop()
    assert.same(a, b)
    assert.same(a, c)
    assert.are_not.same(a.structured, d.structured)
  end)
end)
