#!/usr/bin/env bash
# Checks what the compiler does not: dependency direction between modules, and that the
# deterministic cores (consensus, data, resp) do no I/O and read no clock or hidden randomness.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0

# allowed project includes per module (besides its own folder and util/)
declare -A allowed=(
  [consensus]="" [data]="" [resp]="" [util]="" [script]="data"
  [storage]="" [net]=""
  [node]="consensus data resp storage net script"
  [server]="consensus data resp storage net node script"
)
for mod in "${!allowed[@]}"; do
  [ -d "src/$mod" ] || continue
  while IFS= read -r line; do
    file=${line%%:*}
    inc=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"$line")
    dir=${inc%%/*}
    [ "$dir" = "$inc" ] && continue            # same-folder include
    [ "$dir" = "$mod" ] || [ "$dir" = "util" ] && continue
    ok=0
    for a in ${allowed[$mod]}; do [ "$a" = "$dir" ] && ok=1; done
    if [ $ok -eq 0 ]; then
      echo "lint: $file includes \"$inc\": src/$mod may not depend on src/$dir"
      fail=1
    fi
  done < <(grep -Hn '#include "' src/$mod/*.[ch] 2>/dev/null)
done

# deterministic cores: no clocks, randomness, files or sockets
for mod in consensus data resp; do
  [ -d "src/$mod" ] || continue
  hits=$(grep -HnE '\b(rand|srand|random|time|clock_gettime|gettimeofday|socket|open|fopen|fwrite|write|read|fsync|getpid|sleep|usleep)\s*\(' src/$mod/*.[ch] 2>/dev/null | grep -vE '^\S+:[0-9]+:\s*(//|\*|/\*)')
  if [ -n "$hits" ]; then
    echo "lint: src/$mod must stay free of I/O, clocks and hidden randomness:"
    echo "$hits"
    fail=1
  fi
  hits=$(grep -HnE '#include <(sys/socket|sys/time|time|unistd|fcntl|pthread|stdio)\.h>' src/$mod/*.[ch] 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "lint: src/$mod includes a system header for I/O, time or threads:"
    echo "$hits"
    fail=1
  fi
done

# the script engine runs on the apply path: no clocks or hidden randomness either (time and
# seed come from the log entry); stdio only for snprintf
hits=$(grep -HnE '\b(rand|srand|random|time|clock_gettime|gettimeofday|socket|open|fopen|fwrite|getpid|sleep|usleep)\s*\(' src/script/*.[ch] 2>/dev/null | grep -vE '^\S+:[0-9]+:\s*(//|\*|/\*)')
hits+=$(grep -HnE '#include <(sys/socket|sys/time|time|unistd|fcntl|pthread)\.h>' src/script/*.[ch] 2>/dev/null)
if [ -n "$hits" ]; then
  echo "lint: src/script must stay free of clocks, randomness and I/O:"
  echo "$hits"
  fail=1
fi

# never kill by name
# (the pattern is split so this file does not match itself)
by_name="p""kill|kill""all"
if grep -rnE "\b($by_name)\b" --include='*.py' --include='*.sh' --include='Makefile' --include='*.mk' . | grep -v '^./.git/'; then
  echo "lint: stop processes by PID, never by name"
  fail=1
fi
[ $fail -eq 0 ] && echo "lint: ok"
exit $fail
