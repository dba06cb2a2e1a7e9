#!/bin/sh
# The dependency rules of the folder READMEs, checked on the sources.
#
#   tests/layering.sh [SOURCE_DIR]      (default: the repository of this script)
#
# 1. statemachine/ (the pure core) includes no jansson, librdkafka, Avro,
#    yajl or libmicrohttpd header and prints nothing (no printf/fprintf/
#    puts/perror/..., no stdout/stderr).
# 2. The repository's own headers include each other without a cycle.
# 3. Only producers/ calls librdkafka's produce functions (product code:
#    bench/ and tests/ are clients that may drive Kafka themselves).
# 4. A file in folder F includes headers of F and of the folders named
#    (as `name/`) in the "Includes from:" paragraph of F/README.md,
#    nothing else of the repository.
#    The folders' allowed graph itself has no cycle.
# Exit 0 when every rule holds, 1 with each violation on stderr otherwise.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
bad() { echo "layering: $*" >&2; fail=1; }

# The files: what git tracks (plus new files not ignored), else find.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files --cached --others --exclude-standard -- '*.c' '*.h' |
            while read -r f; do [ -f "$f" ] && echo "$f"; done >"$tmp/files"
else
        find . -path ./build -prune -o -path './build-*' -prune -o \
            \( -name '*.c' -o -name '*.h' \) -type f -print |
            sed 's|^\./||' >"$tmp/files"
fi
[ -s "$tmp/files" ] || { echo "layering: no sources under $root" >&2; exit 2; }

# "file<TAB>included header" for every quoted include.
while read -r f; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' \
            "$f" | while read -r h; do printf '%s\t%s\n' "$f" "$h"; done
done <"$tmp/files" >"$tmp/incl"
# "basename<TAB>path" of the repository's headers.
grep '\.h$' "$tmp/files" | awk -F/ '{print $NF "\t" $0}' | sort >"$tmp/hdrs"

# ---- 1. the pure core --------------------------------------------------
core=$(grep '^statemachine/' "$tmp/files")
if [ -n "$core" ]; then
        # shellcheck disable=SC2086
        grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<(jansson|librdkafka/|avro|yajl/|microhttpd)' \
            $core >"$tmp/v1" && while read -r l; do
                bad "statemachine/ must not include this library: $l"
        done <"$tmp/v1"
        # Calls that print, and the standard streams (snprintf is fine).
        for f in $core; do
                awk -v f="$f" '
                    /\/\*/ { c = 1 }
                    !c && (/(^|[^A-Za-z0-9_])(printf|fprintf|vprintf|vfprintf|dprintf|puts|fputs|putchar|fputc|putc|perror|fwrite)[[:space:]]*\(/ ||
                           /(^|[^A-Za-z0-9_])(stdout|stderr)([^A-Za-z0-9_]|$)/) { print f ":" NR ": " $0 }
                    /\*\// { c = 0 }' "$f"
        done >"$tmp/v1b"
        while read -r l; do
                bad "statemachine/ must not print: $l"
        done <"$tmp/v1b"
fi

# ---- 2. no include cycles among the repository's headers ----------------
# Edges "includer included" between headers (by file name; every header
# name is unique in the repository, which is checked too).
cut -f1 "$tmp/hdrs" | uniq -d | while read -r d; do
        echo "two headers named $d"
done >"$tmp/dup"
while read -r l; do bad "$l (include by name is ambiguous)"; done <"$tmp/dup"
awk -F'\t' 'NR == FNR { known[$1] = 1; next }
            $1 ~ /\.h$/ { n = split($1, p, "/"); from = p[n]
                          if (($2 in known) && $2 != from) print from, $2 }' \
    "$tmp/hdrs" "$tmp/incl" >"$tmp/edges"
if ! tsort "$tmp/edges" >/dev/null 2>"$tmp/cycle"; then
        bad "include cycle among headers:"
        sed 's/^/    /' "$tmp/cycle" >&2
fi

# ---- 3. Kafka produce calls only in producers/ -------------------------
grep -E '^(statemachine|evidence|views|schemas|consumers|tools|deploy)/' \
    "$tmp/files" | while read -r f; do
        grep -nE '(^|[^A-Za-z0-9_])rd_kafka_produce(v|va|_batch)?[[:space:]]*\(' "$f" |
            sed "s|^|$f:|"
done >"$tmp/v3"
while read -r l; do bad "Kafka produce call outside producers/: $l"; done <"$tmp/v3"

# ---- 4. folders include only what their README allows -----------------
: >"$tmp/allowed"
: >"$tmp/fedges"
: >"$tmp/checked"
for readme in */README.md; do
        d=${readme%/README.md}
        # The paragraph that starts "Includes from:" (to the blank line).
        line=$(awk '/^Includes from:/ { on = 1 } on && /^$/ { exit }
                    on { print }' "$readme")
        [ -n "$line" ] || continue
        echo "$line" | sed 's/^Includes from://' | tr -c 'A-Za-z0-9_/\n' ' ' |
            tr ' ' '\n' | sed -n 's|^\([A-Za-z0-9_]*\)/$|\1|p' |
            while read -r a; do
                printf '%s %s\n' "$d" "$a" >>"$tmp/allowed"
                [ "$a" = "$d" ] || printf '%s %s\n' "$d" "$a" >>"$tmp/fedges"
        done
        echo "$d" >>"$tmp/checked"
done
for d in statemachine evidence views schemas producers consumers tools \
    bench deploy; do
        grep -qx "$d" "$tmp/checked" 2>/dev/null ||
            bad "$d/README.md has no 'Includes from:' line"
done
if ! tsort "$tmp/fedges" >/dev/null 2>"$tmp/fcycle"; then
        bad "the READMEs' 'Includes from:' lines form a cycle:"
        sed 's/^/    /' "$tmp/fcycle" >&2
fi
# For each include: the includer's folder and the header's folder.
awk -F'\t' 'FILENAME == ARGV[1] { split($0, a, " "); ok[a[1] " " a[2]] = 1; next }
            FILENAME == ARGV[2] { split($2, p, "/"); owner[$1] = p[1]; next }
            FILENAME == ARGV[3] { checked[$0] = 1; next }
            { split($1, p, "/"); from = p[1]
              if (!(from in checked) || !($2 in owner)) next
              to = owner[$2]
              if (to != from && !((from " " to) in ok))
                      print $1 ": includes " $2 " (" to "/), which " from \
                            "/README.md does not allow" }' \
    "$tmp/allowed" "$tmp/hdrs" "$tmp/checked" "$tmp/incl" >"$tmp/v4"
while read -r l; do bad "$l"; done <"$tmp/v4"

[ "$fail" = 0 ] && echo "layering: ok ($(wc -l <"$tmp/files") files, $(wc -l <"$tmp/edges") header includes)"
exit "$fail"
