#!/usr/bin/env bash
# Regenerates the README's screenshots (week.png, budget.png beside this
# script): they are the browser test's own, taken on its seeded calendar
# (tests/browser/seed.sql) in headless chromium, so they show what the test
# checked. Needs a build (BUILD_DIR, default build/) and chromium.
#   src/http/ui/screenshots.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=${BUILD_DIR:-$top/build}
cmake --build "$build" --target postpace browser_test_browser
cd "$build"
BROWSER_ARTIFACTS="$here" ctest -R '^browser/' --output-on-failure
ls -l "$here"/week.png "$here"/budget.png
