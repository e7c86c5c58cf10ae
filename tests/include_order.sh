#!/usr/bin/env bash
# The includes of src/ read in one direction (issue #23): a file includes
# headers of its own room or of a lower one, never of a higher one.
#
#   util, clock, config < db < limits < provider < metrics < registry
#   < webhook < scheduler, import, plan, outbox < control, status, deliveries < http < daemon < main
#
# Prints every include that points up and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/../src"
level() { # a path under src/ -> its room's level
  case "$1" in
    util/*|clock.*|config.*) echo 0 ;;
    db/*) echo 1 ;;
    limits/*) echo 2 ;;
    provider/*) echo 3 ;;
    metrics.*) echo 4 ;;
    registry/*) echo 5 ;;
    webhook/*) echo 6 ;;
    scheduler/*|import/*|plan/*|outbox/*) echo 7 ;;
    control.*|status.*|deliveries.*) echo 8 ;;
    http/*) echo 9 ;;
    daemon.*) echo 10 ;;
    main.*) echo 11 ;;
    *) echo "include_order: $1 is in no room; add it to tests/include_order.sh" >&2; echo 99 ;;
  esac
}
bad=0
while IFS= read -r file; do
  from=$(level "$file")
  while IFS= read -r inc; do
    [ -f "$inc" ] || continue            # a system or generated header
    [ "$(dirname "$inc")" = "$(dirname "$file")" ] && continue
    to=$(level "$inc")
    if [ "$to" -gt "$from" ]; then
      echo "include_order: $file includes $inc, a higher room" >&2
      bad=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find . -name '*.[ch]' | sed 's|^\./||' | sort)
[ "$bad" = 0 ] && echo "include_order: every include points down"
exit "$bad"
