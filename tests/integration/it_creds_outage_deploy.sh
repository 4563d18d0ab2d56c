#!/bin/bash
# it-timeout: 240
# it_creds_outage_deploy.sh: it_creds_outage.sh where README recommends deploying (issue 11:
# "the credentials tests run under the unit's capability set with a writer of another uid,
# and with the daemon in a second pid namespace"): the daemon under the systemd unit's
# capabilities inside `unshare --pid`, allow_other, and every reader as uid 65534.
CREDS_DEPLOY=unit-pidns
. "$(dirname "$0")/it_creds_outage.sh"
