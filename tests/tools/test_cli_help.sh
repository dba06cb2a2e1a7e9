#!/usr/bin/env bash
# receiptctl's command-line conventions, for every subcommand: -h/--help
# prints the usage on stdout and exits 0 with nothing on stderr; an unknown
# option, a missing value or an unknown command prints one line on stderr
# that says what to run for help, and exits 2 with nothing on stdout.
set -euo pipefail
R="$1"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# run ARGS...: sets rc, and the files $T/out, $T/err
run() { set +e; "$R" "$@" >"$T/out" 2>"$T/err"; rc=$?; set -e; }

cmds="replay sign broker emit receipt demo run keygen verify ledger"
subs="ledger verify|ledger prove|ledger seal|ledger export"

for top in --help -h help; do
  run $top
  [ $rc = 0 ] || fail "receiptctl $top: exit $rc"
  [ ! -s "$T/err" ] || fail "receiptctl $top wrote to stderr: $(cat "$T/err")"
  head -1 "$T/out" | grep -qx 'usage: receiptctl COMMAND \[ARGS\]' || fail "receiptctl $top: $(head -1 "$T/out")"
  for c in $cmds; do
    grep -q "^  $c\b" "$T/out" || fail "receiptctl $top does not list $c"
  done
done

IFS='|' read -ra all <<<"${cmds// /|}|$subs"
for c in "${all[@]}"; do
  read -ra words <<<"$c"
  for h in --help -h; do
    run "${words[@]}" $h
    [ $rc = 0 ] || fail "receiptctl $c $h: exit $rc ($(cat "$T/err"))"
    [ ! -s "$T/err" ] || fail "receiptctl $c $h wrote to stderr: $(cat "$T/err")"
    head -1 "$T/out" | grep -q "^usage: receiptctl ${words[0]} " || fail "receiptctl $c $h: $(head -1 "$T/out")"
  done
  # `receiptctl help CMD` is the same text
  run help "${words[0]}"
  [ $rc = 0 ] && grep -q "^usage: receiptctl ${words[0]} " "$T/out" || fail "receiptctl help ${words[0]}"

  run "${words[@]}" --no-such-option
  [ $rc = 2 ] || fail "receiptctl $c --no-such-option: exit $rc"
  [ ! -s "$T/out" ] || fail "receiptctl $c --no-such-option wrote to stdout"
  want="receiptctl $c: unknown option '--no-such-option'; see 'receiptctl $c --help'"
  [ "$(cat "$T/err")" = "$want" ] || fail "receiptctl $c --no-such-option said: $(cat "$T/err")"

  run "${words[@]}" -Q
  [ $rc = 2 ] || fail "receiptctl $c -Q: exit $rc"
  [ "$(cat "$T/err")" = "receiptctl $c: unknown option '-Q'; see 'receiptctl $c --help'" ] ||
    fail "receiptctl $c -Q said: $(cat "$T/err")"
done

# a missing value names the option
run replay --policy
[ $rc = 2 ] && [ "$(cat "$T/err")" = "receiptctl replay: option '--policy' needs a value; see 'receiptctl replay --help'" ] ||
  fail "replay --policy: exit $rc: $(cat "$T/err")"
run ledger verify --keys
[ $rc = 2 ] && grep -qx "receiptctl ledger verify: option '--keys' needs a value; see 'receiptctl ledger verify --help'" "$T/err" ||
  fail "ledger verify --keys: exit $rc: $(cat "$T/err")"
# a value given to a flag
run demo --verbose=yes
[ $rc = 2 ] && grep -qx "receiptctl demo: option '--verbose' takes no value; see 'receiptctl demo --help'" "$T/err" ||
  fail "demo --verbose=yes: exit $rc: $(cat "$T/err")"
# other argument errors also point to the help, on one line
run keygen --role seller
[ $rc = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -q "see 'receiptctl keygen --help'" "$T/err" ||
  fail "keygen without --id: exit $rc: $(cat "$T/err")"
# a refused key id: one line, no note about a key that was not made
run keygen --role seller --id a/b --out "$T"
[ $rc = 2 ] && [ "$(wc -l < "$T/err")" = 1 ] && grep -qx "receiptctl keygen: key_id may hold printable ASCII without spaces or slashes" "$T/err" ||
  fail "keygen --id a/b: exit $rc: $(cat "$T/err")"
run replay a b
[ $rc = 2 ] && grep -qx "receiptctl replay: unexpected argument 'b'; see 'receiptctl replay --help'" "$T/err" ||
  fail "replay a b: exit $rc: $(cat "$T/err")"
run ledger frobnicate
[ $rc = 2 ] && grep -qx "receiptctl ledger: unknown subcommand 'frobnicate'; see 'receiptctl ledger --help'" "$T/err" ||
  fail "ledger frobnicate: exit $rc: $(cat "$T/err")"

# unknown command or top-level option
run frobnicate
[ $rc = 2 ] && grep -qx "receiptctl: unknown command 'frobnicate'; see 'receiptctl --help'" "$T/err" ||
  fail "unknown command: exit $rc: $(cat "$T/err")"
run --frobnicate
[ $rc = 2 ] && grep -qx "receiptctl: unknown option '--frobnicate'; see 'receiptctl --help'" "$T/err" ||
  fail "unknown top-level option: exit $rc: $(cat "$T/err")"
run
[ $rc = 2 ] && grep -q '^usage: receiptctl COMMAND' "$T/err" || fail "no arguments: exit $rc"

# what the help documents
run keygen --help
grep -q -- '--valid-from RFC3339' "$T/out" && grep -q 'Default: now' "$T/out" ||
  fail "keygen --help does not document --valid-from"
run replay --help
grep -q -- '--format lines' "$T/out" || fail "replay --help does not document --format lines"
run ledger verify --help
grep -q 'NOT checked' "$T/out" || fail "ledger verify --help does not say what runs without a key"
echo "cli help ok"
