#!/bin/sh
# The caseflow namespace and the search attributes its cases set (temporalio/admin-tools, after
# the server answers). Safe to run again: only what is missing is created.
set -eu
namespace=${NAMESPACE:-caseflow}
retention=${RETENTION:-8760h}

attempt=0
until temporal operator cluster health >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  [ "$attempt" -lt 30 ] || { echo "Temporal at $TEMPORAL_ADDRESS does not answer" >&2; exit 1; }
  sleep 2
done

temporal operator namespace describe --namespace "$namespace" >/dev/null 2>&1 \
  || temporal operator namespace create --namespace "$namespace" --retention "$retention"

# Name=Type, as caseflow/temporal.py SEARCH_ATTRIBUTES (tests/test_deploy.py compares them).
for attribute in CaseKind=Keyword CaseStatus=Keyword Severity=Keyword HospitalId=Keyword \
                 EquipmentSerial=Keyword AssigneeId=Keyword SlaBreached=Bool; do
  name=${attribute%%=*}
  type=${attribute#*=}
  attempt=0
  # A namespace just created takes a few seconds to be known everywhere: retry.
  until temporal operator search-attribute list --namespace "$namespace" 2>/dev/null \
          | grep -qw "$name" \
        || temporal operator search-attribute create --namespace "$namespace" \
             --name "$name" --type "$type"; do
    attempt=$((attempt + 1))
    [ "$attempt" -lt 15 ] || { echo "could not register $name" >&2; exit 1; }
    sleep 2
  done
done
echo "namespace $namespace and its search attributes are ready"
