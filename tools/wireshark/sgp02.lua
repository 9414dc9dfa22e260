-- SPDX-License-Identifier: GPL-2.0-or-later
-- euicc-bench: a Wireshark dissector for what Wireshark lacks of SGP.02 over SMS-PP (docs/capture.md).
-- On top of gsm_sim / etsi_cat / gsm_sms, for every GSMTAP SIM APDU: the ETSI TS 102 225 command packet
-- of an ENVELOPE (SMS-PP download) -- CPI (UDH IEI 70), CPL, CHL, SPI with its bits named, KIc, KID,
-- TAR, and CNTR, PCNTR and the ES5/ES8 commands inside when they are in clear -- and the response packet
-- a FETCH brings back (IEI 71:
-- RPL, RHL, TAR, CNTR, PCNTR, the PoR status by name when in clear). What is ciphered is said so; when
-- the capture carries the SM-SR's annotations (--pcap-plaintext), the counter, the PoR status and the
-- command in clear are shown from them.
-- Install: mkdir -p ~/.local/lib/wireshark/plugins && cp tools/wireshark/sgp02.lua ~/.local/lib/wireshark/plugins/
-- Or once: tshark -X lua_script:tools/wireshark/sgp02.lua -r FILE   (tshark refuses Lua scripts as root)

local p = Proto("sgp02", "SGP.02 OTA (ETSI TS 102 225 secured packets)")

local por_names = {
  [0x00] = "PoR OK", [0x01] = "RC/CC/DS failed", [0x02] = "CNTR low", [0x03] = "CNTR high",
  [0x04] = "CNTR blocked", [0x05] = "ciphering error", [0x06] = "unidentified security error",
  [0x07] = "insufficient memory", [0x08] = "more time", [0x09] = "TAR unknown",
  [0x0A] = "insufficient security level", [0x0B] = "response data sent using SMS-SUBMIT",
}
local f = {
  kind = ProtoField.string("sgp02.packet", "Packet"),
  cpl = ProtoField.uint16("sgp02.cpl", "Command packet length (CPL)"),
  chl = ProtoField.uint8("sgp02.chl", "Command header length (CHL)"),
  spi = ProtoField.uint16("sgp02.spi", "SPI", base.HEX),
  spi_cc = ProtoField.uint16("sgp02.spi.check", "Redundancy check", base.DEC,
    { [0] = "none", [1] = "RC", [2] = "CC", [3] = "DS" }, 0x0300),
  spi_cipher = ProtoField.bool("sgp02.spi.ciphered", "Ciphering", 16, nil, 0x0400),
  spi_cntr = ProtoField.uint16("sgp02.spi.counter", "Counter", base.DEC,
    { [0] = "no counter", [1] = "counter available, no check", [2] = "counter must be higher",
      [3] = "counter must be one higher" }, 0x1800),
  spi_por = ProtoField.uint16("sgp02.spi.por", "PoR", base.DEC,
    { [0] = "no PoR", [1] = "PoR required", [2] = "PoR on error", [3] = "reserved" }, 0x0003),
  spi_por_cc = ProtoField.uint16("sgp02.spi.por_check", "PoR check", base.DEC,
    { [0] = "none", [1] = "RC", [2] = "CC", [3] = "DS" }, 0x000C),
  spi_por_cipher = ProtoField.bool("sgp02.spi.por_ciphered", "PoR ciphered", 16, nil, 0x0010),
  spi_por_submit = ProtoField.bool("sgp02.spi.por_submit", "PoR by SMS-SUBMIT", 16, nil, 0x0020),
  kic = ProtoField.uint8("sgp02.kic", "KIc", base.HEX),
  kid = ProtoField.uint8("sgp02.kid", "KID", base.HEX),
  tar = ProtoField.string("sgp02.tar", "TAR"),
  cntr = ProtoField.string("sgp02.cntr", "CNTR"),
  pcntr = ProtoField.uint8("sgp02.pcntr", "PCNTR"),
  rpl = ProtoField.uint16("sgp02.rpl", "Response packet length (RPL)"),
  rhl = ProtoField.uint8("sgp02.rhl", "Response header length (RHL)"),
  status = ProtoField.uint8("sgp02.por.status", "PoR status", base.HEX, por_names),
  ciphered = ProtoField.string("sgp02.ciphered", "Ciphered"),
  command = ProtoField.string("sgp02.command", "In clear (SM-SR annotation)"),
  apdu = ProtoField.string("sgp02.apdu", "C-APDU (in clear)"),
}
p.fields = f

local f_payload = Field.new("udp.payload")
local f_comment = Field.new("frame.comment")
local last_spi = {} -- the last command packet's SPI per stream (source address): is its PoR ciphered

-- the value (a TvbRange) of the first COMPREHENSION-TLV with tag t (either CR bit) in r
local function ctlv(r, t)
  local o, n = 0, r:len()
  while o + 2 <= n do
    local tag = bit.band(r(o, 1):uint(), 0x7F)
    local len, hl = r(o + 1, 1):uint(), 2
    if len == 0x81 then len, hl = r(o + 2, 1):uint(), 3 end
    if o + hl + len > n then return nil end
    if tag == t then return r(o + hl, len) end
    o = o + hl + len
  end
  return nil
end

-- the user data header's IEs, and the first byte after it
local function udh(ud)
  local udhl = ud(0, 1):uint()
  local ies, o = {}, 1
  while o + 2 <= udhl + 1 and o + 2 <= ud:len() do
    local iei, iel = ud(o, 1):uint(), ud(o + 1, 1):uint()
    ies[iei] = true
    o = o + 2 + iel
  end
  return ies, udhl + 1
end

local function hex(r) return tostring(r:bytes()):lower() end

local dgi_names = {
  [0x3A01] = "key establishment: SM-DP certificate", [0x3A02] = "key establishment: ePK.DP, signature",
  [0x3A03] = "EnableProfile", [0x3A04] = "DisableProfile", [0x3A05] = "SetFallBackAttribute",
  [0x3A06] = "SetEmergencyProfileAttribute", [0x3A07] = "UpdateConnectivityParameters",
  [0x3A08] = "notification confirmation", [0x3A09] = "POL1",
}

-- an ES5/ES8 command by name (INSTALL for the ISD-P, STORE DATA by its DGI, GET STATUS, DELETE)
local function apdu_name(a)
  if a:len() < 4 then return "?" end
  local ins, p1 = a(1, 1):uint(), a(2, 1):uint()
  if ins == 0xE6 then return p1 == 0x20 and "INSTALL [for personalization]" or "INSTALL [for install] (CreateISDP)" end
  if ins == 0xE4 then return "DELETE (DeleteProfile)" end
  if ins == 0xF2 then return "GET STATUS (audit)" end
  if ins == 0xCA then return "GET DATA" end
  if ins == 0xE2 then
    if a:len() >= 7 then
      local dgi = a(5, 2):uint()
      return string.format("STORE DATA %04X", dgi) .. (dgi_names[dgi] and (" (" .. dgi_names[dgi] .. ")") or "")
    end
    return "STORE DATA"
  end
  return string.format("command %02X", ins)
end

-- the script of a packet in clear: expanded (AA { 22 APDU ... }) or compact (the first APDU named)
local function script(t, sd)
  if sd:len() < 4 then return end
  if sd(0, 1):uint() == 0xAA and sd:len() >= 2 then
    local o, hl = 2, 2
    if sd(1, 1):uint() == 0x81 then hl = 3 end
    o = hl
    while o + 2 <= sd:len() do
      local tag, len, l2 = sd(o, 1):uint(), sd(o + 1, 1):uint(), 2
      if len == 0x81 and o + 2 < sd:len() then len, l2 = sd(o + 2, 1):uint(), 3 end
      if o + l2 + len > sd:len() then break end
      if tag == 0x22 then t:add(f.apdu, sd(o + l2, len), apdu_name(sd(o + l2, len))) end
      o = o + l2 + len
    end
  else
    t:add(f.apdu, sd, apdu_name(sd))
  end
end

local function command_packet(t, cp, src)
  local st = t:add(p, cp, "Command packet (ETSI TS 102 225)")
  st:add(f.kind, "command")
  if cp:len() < 10 then return end
  st:add(f.cpl, cp(0, 2))
  st:add(f.chl, cp(2, 1))
  local spi = st:add(f.spi, cp(3, 2))
  for _, k in ipairs({ "spi_cc", "spi_cipher", "spi_cntr", "spi_por", "spi_por_cc", "spi_por_cipher", "spi_por_submit" }) do
    spi:add(f[k], cp(3, 2))
  end
  st:add(f.kic, cp(5, 1))
  st:add(f.kid, cp(6, 1))
  st:add(f.tar, cp(7, 3), hex(cp(7, 3)))
  local v = cp(3, 2):uint()
  last_spi[src] = v
  if bit.band(v, 0x0400) == 0 and cp:len() >= 16 then
    st:add(f.cntr, cp(10, 5), hex(cp(10, 5)))
    st:add(f.pcntr, cp(15, 1))
    local chl = cp(2, 1):uint()
    local pad = cp(15, 1):uint()
    local n = cp:len() - 3 - chl - pad
    if n > 0 then script(st, cp(3 + chl, n)) end
  else
    st:add(f.ciphered, cp(10), "CNTR, PCNTR and the secured data (KIc " .. string.format("%02x", cp(5, 1):uint()) .. ")")
  end
end

local function response_packet(t, rp, src)
  local st = t:add(p, rp, "Response packet (ETSI TS 102 225)")
  st:add(f.kind, "response")
  if rp:len() < 6 then return end
  st:add(f.rpl, rp(0, 2))
  st:add(f.rhl, rp(2, 1))
  st:add(f.tar, rp(3, 3), hex(rp(3, 3)))
  local spi = last_spi[src] or 0
  if bit.band(spi, 0x0010) == 0 and rp:len() >= 13 then
    st:add(f.cntr, rp(6, 5), hex(rp(6, 5)))
    st:add(f.pcntr, rp(11, 1))
    st:add(f.status, rp(12, 1))
  else
    st:add(f.ciphered, rp(6), "CNTR, PCNTR, the PoR status and the response data")
  end
end

-- an SMS-DELIVER's user data (the ENVELOPE of an SMS-PP download)
local function deliver_ud(tp)
  local fo = tp(0, 1):uint()
  local oal = tp(1, 1):uint()
  local o = 2 + 1 + math.floor((oal + 1) / 2) + 2 + 7 -- OA, PID, DCS, SCTS
  if o + 1 >= tp:len() then return nil, fo end
  return tp(o + 1), fo
end

-- an SMS-SUBMIT's user data (the PoR a proactive SEND SHORT MESSAGE carries)
local function submit_ud(tp)
  local fo = tp(0, 1):uint()
  local dal = tp(2, 1):uint()
  local o = 3 + 1 + math.floor((dal + 1) / 2) + 2 -- MR, DA, PID, DCS
  local vpf = bit.band(bit.rshift(fo, 3), 3)
  if vpf == 2 then o = o + 1 elseif vpf ~= 0 then o = o + 7 end
  if o + 1 >= tp:len() then return nil, fo end
  return tp(o + 1), fo
end

local function notes(t, pinfo)
  local c = f_comment()
  if not c then return end
  local s = tostring(c.value)
  local st = t:add(f.command, s)
  local cn = s:match("CNTR (%x+)")
  if cn then st:add(f.cntr, cn) end
  local ps = s:match("PoR: status (%x%x)")
  if ps then st:add(f.status, tonumber(ps, 16)) end
end

function p.dissector(tvb, pinfo, tree)
  local pl = f_payload()
  if not pl then return end
  local r = pl.range
  if r:len() < 20 or r(0, 1):uint() ~= 2 or r(2, 1):uint() ~= 4 or r(12, 1):uint() ~= 0 then return end
  local apdu = r(r(1, 1):uint() * 4)
  if apdu:len() < 5 then return end
  local ins, src = apdu(1, 1):uint(), tostring(pinfo.src)
  local t
  if ins == 0xC2 then -- ENVELOPE: BER-TLV D1 (SMS-PP download) with an SMS-DELIVER
    local lc = apdu(4, 1):uint()
    if apdu(5, 1):uint() ~= 0xD1 or apdu:len() < 5 + lc then return end
    local body = apdu(7, lc - 2)
    if apdu(6, 1):uint() == 0x81 then body = apdu(8, lc - 3) end
    local tp = ctlv(body, 0x0B)
    if not tp then return end
    local ud, fo = deliver_ud(tp)
    if not ud or bit.band(fo, 0x40) == 0 then return end
    local ies, o = udh(ud)
    t = tree:add(p, apdu, "SGP.02 OTA: SMS-PP download")
    if ies[0x70] then command_packet(t, ud(o), src) else t:add(f.kind, "command (a later segment)") end
  elseif ins == 0x12 then -- FETCH: a proactive SEND SHORT MESSAGE with the PoR
    local n = apdu:len() - 2 - 5
    if n < 4 or apdu(5, 1):uint() ~= 0xD0 then return end
    local pc = apdu(5, n)
    local inner = pc(2)
    if pc(1, 1):uint() == 0x81 then inner = pc(3) end
    local tp = ctlv(inner, 0x0B)
    if not tp then return end
    local ud, fo = submit_ud(tp)
    if not ud or bit.band(fo, 0x40) == 0 then return end
    local ies, o = udh(ud)
    if not ies[0x71] then return end
    t = tree:add(p, apdu, "SGP.02 OTA: proof of receipt")
    response_packet(t, ud(o), src)
  else
    return
  end
  pinfo.cols.protocol:append("/SGP.02")
  notes(t, pinfo)
end

register_postdissector(p)
