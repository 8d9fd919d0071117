-- raises.lua - assert that fn(...) raises an exa error object, and return it.
--   local raises = require "helpers.raises"
--   assert.equal("validation", raises(exa.estimate, { effort = "low" }).kind)
local assert = require "luassert"
local exa = require "exa"

return function(fn, ...)
  local ok, e = pcall(fn, ...)
  assert.is_false(ok, "expected an error")
  assert.is_true(exa.is_error(e), "expected an error object, got " .. tostring(e))
  return e
end
