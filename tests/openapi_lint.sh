#!/usr/bin/env bash
# Validates src/http/openapi.json against the OpenAPI 3.0 schema with
# JSON::Validator (Debian: libjson-validator-perl, which carries the schema:
# nothing is downloaded). Exits 77 (ctest: skipped) when it is not installed;
# unit/test_api_openapi checks the routes either way.
set -euo pipefail
doc="$(cd "$(dirname "$0")/.." && pwd)/src/http/openapi.json"
if ! perl -MJSON::Validator::Schema::OpenAPIv3 -e 1 2>/dev/null; then
  echo "openapi_lint: JSON::Validator is not installed (apt-get install libjson-validator-perl)"
  exit 77
fi
perl -MJSON::Validator::Schema::OpenAPIv3 -e '
  my $s = JSON::Validator::Schema::OpenAPIv3->new($ARGV[0]);
  my @e = @{$s->errors};
  print "openapi_lint: $_\n" for @e;
  exit(@e ? 1 : 0);' "$doc"
