-- exa.version: the one place the Lua layer's version lives (matches the
-- Makefile's VERSION and exa.core.version).
return "0.2.0"
