#!/usr/bin/env bash
# lincheck_cli_test.sh BIN — the CLI's exit codes on sample histories (tests/sim/histories).
set -uo pipefail
bin=$1
dir=$(dirname "$0")/histories
fail=0
expect() { # expect CODE FILE [ARGS...] [--grep TEXT]
    local want=$1 file=$2
    shift 2
    local grep=""
    if [ "${1:-}" = "--grep" ]; then grep=$2; shift 2; fi
    out=$(timeout 60 "$bin" "$@" "$dir/$file" 2>&1)
    rc=$?
    if [ $rc -ne "$want" ]; then
        echo "FAIL: lincheck $* $file exited $rc, expected $want"; echo "$out"; fail=1
    elif [ -n "$grep" ] && ! grep -qF -- "$grep" <<<"$out"; then
        echo "FAIL: lincheck $file output lacks '$grep'"; echo "$out"; fail=1
    else
        echo "ok: $file -> $rc"
    fi
}
expect 0 ok_concurrent.jsonl
expect 1 bad_stale_read.jsonl --grep 'key "x": NOT linearizable'
expect 1 bad_duplicate_incr.jsonl --grep '"out":1,"invoke":11'
expect 2 unknown_limit.jsonl --grep 'unknown (search limit' --max-states 500
expect 3 bad_input.jsonl --grep 'bad_input.jsonl:1: numbers must be integers'
[ $fail -eq 0 ] && echo "lincheck CLI: ok"
exit $fail
