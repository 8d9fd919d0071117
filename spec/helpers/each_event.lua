-- each_event(stream, fn): fn(ev) for every event of a stream, from inside a
-- loop task. PUC Lua 5.1 cannot yield inside a for-loop's iterator call (nor
-- in a metamethod): there a task pulls a stream with s:next() in a while loop
-- (README). Every other Lua runs the generic for, as a user writes it.
return function(s, fn)
  if _VERSION == "Lua 5.1" and not jit then
    while true do
      local ev = s:next()
      if ev == nil then return end
      fn(ev)
    end
  end
  for ev in s do fn(ev) end
end
