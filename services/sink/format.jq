# format.jq: the sink's lines, from raw input lines (jq -R -r).
#   a pair with a {"stdout": true} target -> one readable line per such target
#   a bundle                               -> the lines of each of its pairs
#   a receipt                              -> "sink: info: receipt key=value..."
#   a malformed line                       -> "sink: warning: ..."; others: nothing
# With --arg mode try (insight try) every target of a pair gets a line,
# "STREAM -> TARGET: line", and receipts are not expected.  With --arg
# mode render (insight try --render) the posters ran with --dry-run: each
# {"render":..} line is "STREAM -> TARGET (killmail N):" then the body as
# it would be sent, indented; a pair's other targets get a try line.

def isk:
  if type != "number" then "? ISK"
  elif . >= 1e12 then "\(. / 1e10 | round / 100)T ISK"
  elif . >= 1e9 then "\(. / 1e7 | round / 100)B ISK"
  elif . >= 1e6 then "\(. / 1e4 | round / 100)M ISK"
  elif . >= 1e3 then "\(. / 10 | round / 100)k ISK"
  else "\(round) ISK" end;

# An entity's name, else its id, else null.
def ename: if type == "object" then (.name // (.id | tostring)) else null end;

def victim:
  .victim as $v
  | ([$v.character, $v.corporation] | map(ename) | map(select(. != null)))
  | if length == 0 then "?" elif length == 1 then .[0]
    else "\(.[0]) (\(.[1]))" end;

def place:
  "\(.system | ename // "?")"
  + (if .system.region then ", \(.system.region | ename)" else "" end)
  + (if (.system.security | type) == "number"
     then " \(.system.security * 10 | round / 10)" else "" end);

# ship | victim | system | value | zKillboard URL
def readable:
  .mail as $m
  | [($m.victim.ship | ename // "?"), ($m | victim), ($m | place),
     ($m.value.total | isk),
     ($m.url // "https://zkillboard.com/kill/\($m.killmail_id)/")]
  | join(" | ");

def styled($t):
  if $t.style == "json" then tojson
  elif $t.style == "link" then .mail.url // "https://zkillboard.com/kill/\(.mail.killmail_id)/"
  else "[\(.stream.name // .stream.id)] \(readable)" end;

# Where a post would go, without its secret: "$NAME", or the webhook's
# last four characters as the tools log it.
def where:
  if .stdout == true then "stdout"
  elif .discord then "discord " + (.discord | if startswith("$") then .
      else "…/" + (capture("/webhooks/(?<id>[^/?#]+)").id // "?" | .[-4:]) end)
  elif .slack then "slack " + (.slack | if startswith("$") then .
      else "…/" + (capture("/services/[^/]+/(?<id>[^/?#]+)").id // "?" | .[-4:]) end)
  else keys_unsorted[0] // "?" end;

def receipt:
  "sink: info: receipt" + (to_entries | map(" \(.key)=\(.value)") | join(""));

# A pair's lines.
def pairlines:
  . as $p | (.stream.targets // [])[]
  | if $mode == "render" and (.discord or .slack) then empty
    elif $mode != "sink" then
      "\($p.stream.id) -> \(where): "
      + (($p.match.mention // "") | if . == "" then "" else . + " " end)
      + ($p | readable)
    elif .stdout == true then . as $t | $p | styled($t)
    else empty end;

(try fromjson catch null) as $o
| if $o == null then "sink: warning: malformed line skipped"
  elif ($o | type) != "object" then empty
  elif $o.receipt then
    if $mode != "sink" then empty else $o.receipt | receipt end
  elif ($o.render | type) == "object" then
    $o.render
    | "\(.stream) -> \(.target) \(.webhook) (killmail \(.killmail_id))"
      + (if .error then ": cannot be sent: \(.error)" else ":" end),
      .body
  elif ($o.stream | type) == "object" and ($o.mail | type) == "object" then
    $o | pairlines
  elif ($o.streams | type) == "array" and ($o.mail | type) == "object" then
    # a bundle: the pairs of one mail (the i-th match is the i-th stream's)
    $o | range(.streams | length) as $i
    | select(.streams[$i] | type == "object")
    | {stream: .streams[$i], mail, match: (.matches[$i]? // null)} | pairlines
  else empty end
