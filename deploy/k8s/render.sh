#!/usr/bin/env bash
# Renders the Kubernetes manifests of a heatpipe site for one bucket and shard count:
#
#   deploy/k8s/render.sh BUCKET SHARDS [SITE] > heatpipe.yaml        collectors, read side, nightly CronJob
#   deploy/k8s/render.sh BUCKET SHARDS SITE DATE > backfill.yaml     one day's shard Job and merge Job
#
# SITE defaults to `shop`; HEATPIPE_IMAGE (default heatpipe:latest, built from deploy/Dockerfile)
# and AWS_REGION (default us-east-1) name the image and the bucket's region. Store data lives
# under s3://BUCKET/heatpipe, rendered PNGs under s3://BUCKET/png. Before applying, create the
# two Secrets the manifests read (their values never go in these files):
#
#   kubectl create secret generic heatpipe-s3 \
#     --from-literal=AWS_ACCESS_KEY_ID=… --from-literal=AWS_SECRET_ACCESS_KEY=…
#   token="hp_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
#   kubectl create secret generic heatpipe-api-token --from-literal=token="$token"
#
# The read side installs that token (name cluster-admin, scope admin) at every start; keep it
# to make read tokens for people: `heatpipe token create --store s3://BUCKET/heatpipe --name
# alice --scope read`. For MinIO or another S3-compatible server, add AWS_ENDPOINT_URL to the
# heatpipe-s3 Secret.
set -euo pipefail

usage() {
  echo "usage: $0 BUCKET SHARDS [SITE [DATE]]" >&2
  exit 2
}
[ $# -ge 2 ] && [ $# -le 4 ] || usage
bucket=$1
shards=$2
site=${3:-shop}
date=${4:-}
image=${HEATPIPE_IMAGE:-heatpipe:latest}
region=${AWS_REGION:-us-east-1}

# S3 bucket names: 3-63 of a-z, 0-9, . and -; heatpipe site names: [a-z0-9][a-z0-9-]{0,62}.
[[ $bucket =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] || { echo "$0: $bucket is not an S3 bucket name" >&2; exit 2; }
[[ $shards =~ ^[1-9][0-9]{0,2}$ ]] || { echo "$0: SHARDS must be a number from 1 to 999, not $shards" >&2; exit 2; }
[[ $site =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || { echo "$0: $site is not a site name" >&2; exit 2; }
[[ -z $date || $date =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || { echo "$0: DATE must be YYYY-MM-DD, not $date" >&2; exit 2; }
[[ $image =~ ^[A-Za-z0-9./:@_-]+$ ]] || { echo "$0: HEATPIPE_IMAGE $image is not an image name" >&2; exit 2; }
[[ $region =~ ^[a-z0-9-]+$ ]] || { echo "$0: AWS_REGION $region is not a region" >&2; exit 2; }

templates="$(dirname "$0")/templates"
if [ -n "$date" ]; then
  files=(backfill-shards.yaml backfill-merge.yaml)
else
  files=(collector.yaml read.yaml nightly.yaml)
fi

first=1
for file in "${files[@]}"; do
  [ $first -eq 1 ] || echo "---"
  first=0
  text=$(<"$templates/$file")
  text=${text//@BUCKET@/$bucket}
  text=${text//@SHARDS@/$shards}
  text=${text//@SITE@/$site}
  text=${text//@DATE@/$date}
  text=${text//@IMAGE@/$image}
  text=${text//@REGION@/$region}
  if [[ $text == *@[A-Z]*@* ]]; then
    echo "$0: $file has a placeholder this script does not fill" >&2
    exit 1
  fi
  printf '%s\n' "$text"
done
