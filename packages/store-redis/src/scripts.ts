/**
 * @module
 * The Lua scripts that apply the merge rules of `entries.ts` atomically inside Redis. Each write
 * is a merge, never a blind overwrite, so two instances writing at once cannot undo each other.
 */
import { MAX_COOLDOWN_MS } from './entries.js';

/** `newer(a, b)`: the Lua twin of `isNewer` (entries are `"<a>:<b>:<ascii payload>"`). */
const NEWER = `
local function split(e)
  local i = string.find(e, ':', 1, true)
  if not i then return nil end
  local j = string.find(e, ':', i + 1, true)
  if not j then return nil end
  return tonumber(string.sub(e, 1, i - 1)), tonumber(string.sub(e, i + 1, j - 1)), string.sub(e, j + 1)
end
local function newer(x, y)
  if not y then return true end
  local xa, xb, xp = split(x)
  local ya, yb, yp = split(y)
  if not xa or not xb then return false end
  if not ya or not yb then return true end
  if xa ~= ya then return xa > ya end
  if xb ~= yb then return xb > yb end
  -- Bytewise: Lua's string < follows the server's locale (strcoll).
  local n = math.min(#xp, #yp)
  for k = 1, n do
    local p, q = string.byte(xp, k), string.byte(yp, k)
    if p ~= q then return p > q end
  end
  return #xp > #yp
end
`;

/** HSET each (field, entry) pair of ARGV into KEYS[1] when it beats the stored entry. */
export const LWW_HSET: string = `${NEWER}
local applied = 0
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if newer(ARGV[i + 1], old) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    applied = applied + 1
  end
end
return applied
`;

/** For each KEYS[i], SET it to ARGV[2i-1] with PX ARGV[2i] when that entry beats the stored one. */
export const LWW_SET_PX: string = `${NEWER}
local applied = 0
for i = 1, #KEYS do
  local old = redis.call('GET', KEYS[i])
  if newer(ARGV[2 * i - 1], old) then
    redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'PX', ARGV[2 * i])
    applied = applied + 1
  end
end
return applied
`;

/**
 * Merge each (account, cooldown register) pair of ARGV into the hash KEYS[1]: the Lua twin of
 * `mergeCooldown` (drop sets made before the latest clear and sets whose deadline lies more than
 * `MAX_COOLDOWN_MS` past their stamp, keep the Pareto frontier of (deadline, set stamp), oldest
 * first, at most 16). Numbers are copied as the strings they came in as, so nothing is re-encoded
 * with Lua's float formatting.
 */
export const MERGE_COOLDOWN: string = `
local max_cooldown_ms = ${String(MAX_COOLDOWN_MS)}
local function parse(text, into)
  local clear = nil
  for part in string.gmatch(text, '[^;]+') do
    if clear == nil then
      clear = part
    else
      local u, s = string.match(part, '^([^,]+),([^,]+)$')
      if u then table.insert(into, { u = u, s = s, un = tonumber(u), sn = tonumber(s) }) end
    end
  end
  return clear
end
local function merge(x, y)
  local all = {}
  local xc = parse(x, all)
  local yc = parse(y, all)
  local clear = xc
  if tonumber(yc) > tonumber(xc) then clear = yc end
  local cn = tonumber(clear)
  local live = {}
  for _, e in ipairs(all) do
    if e.sn > cn and e.un <= e.sn / 1000 + max_cooldown_ms then table.insert(live, e) end
  end
  local frontier = {}
  for _, e in ipairs(live) do
    local keep = true
    for _, o in ipairs(live) do
      if o.un >= e.un and o.sn >= e.sn and (o.un > e.un or o.sn > e.sn) then keep = false break end
    end
    if keep then
      for _, k in ipairs(frontier) do
        if k.un == e.un and k.sn == e.sn then keep = false break end
      end
    end
    if keep then table.insert(frontier, e) end
  end
  table.sort(frontier, function(p, q) return p.sn < q.sn end)
  local out = { clear }
  for i = math.max(1, #frontier - 15), #frontier do
    table.insert(out, frontier[i].u .. ',' .. frontier[i].s)
  end
  return table.concat(out, ';')
end
local changed = 0
for i = 1, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  local merged
  if old then merged = merge(old, ARGV[i + 1]) else merged = merge(ARGV[i + 1], '0') end
  if merged ~= old then
    redis.call('HSET', KEYS[1], ARGV[i], merged)
    changed = changed + 1
  end
end
return changed
`;

/**
 * Record failing requests in the sorted set KEYS[1] (member: `[account, requestKey]` as JSON,
 * score: when it failed, epoch ms), keeping each member's latest failure, so that merging is
 * order-independent. Then drop failures before ARGV[1], keep the newest ARGV[2] members and let
 * the set expire ARGV[3] ms after the last write. ARGV[4…] are member, score pairs.
 */
export const RECORD_FAULTS: string = `
for i = 4, #ARGV, 2 do
  local old = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not old or tonumber(old) < tonumber(ARGV[i + 1]) then
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[2])
if extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 0
`;

/** SET KEYS[1] to ARGV[1] when ARGV[1] is larger than the stored integer; returns the result. */
export const MAX_SET: string = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return wanted
end
return current
`;

/** DEL KEYS[1] only while it still holds our token ARGV[1]: never release someone else's lock. */
export const RELEASE_LOCK: string = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;
