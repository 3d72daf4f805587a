#!/usr/bin/env bash
# Renders every kustomization under a k8s directory (the base and each overlay) and validates the
# output offline with kubeconform -strict against the schemas vendored in ./schemas. Exits non-zero
# if a render fails, a resource is invalid, a kind has no schema, or a Secret is inlined.
#
#   tools/k8s-check/check.sh [k8s-dir]        (default: the repository's k8s/)
#
# kustomize and kubeconform are built from the Go module proxy on first use (GitHub release
# downloads are unreachable from CI) and cached under .granary/tools/, one directory per pinned
# version, so a version bump rebuilds and a rerun reuses. Needs `go` (1.24+) on PATH.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1
KUBECONFORM_VERSION=v0.7.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
k8s_dir="$(cd "${1:-$repo/k8s}" && pwd)"
tools_dir="${GRANARY_TOOLS_DIR:-$repo/.granary/tools}"
schemas_dir="$here/schemas"

# go install <module>@<version> into a versioned cache directory; prints the binary's path.
ensure_go_tool() {
  local name="$1" package="$2" version="$3"
  local bin_dir="$tools_dir/$name-$version"
  if [[ ! -x "$bin_dir/$name" ]]; then
    command -v go >/dev/null || { echo "k8s-check: 'go' is needed to build $name $version" >&2; exit 2; }
    echo "k8s-check: building $name $version from the Go module proxy (first run only)" >&2
    # Build into a scratch directory and rename, so a concurrent run never sees half a binary.
    local scratch
    scratch="$(mktemp -d "$tools_dir/.$name.XXXXXX")"
    GOBIN="$scratch" go install "$package@$version" >&2
    mkdir -p "$bin_dir"
    mv -f "$scratch/$name" "$bin_dir/$name"
    rmdir "$scratch"
  fi
  echo "$bin_dir/$name"
}

mkdir -p "$tools_dir"
kustomize="$(ensure_go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")"
kubeconform="$(ensure_go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")"

rendered_dir="$(mktemp -d)"
trap 'rm -rf "$rendered_dir"' EXIT

mapfile -t kustomizations < <(find "$k8s_dir" -name kustomization.yaml -printf '%h\n' | sort)
if [[ ${#kustomizations[@]} -eq 0 ]]; then
  echo "k8s-check: no kustomization.yaml under $k8s_dir" >&2
  exit 1
fi

failed=0
for kustomization in "${kustomizations[@]}"; do
  label="${kustomization#"$k8s_dir"/}"
  output="$rendered_dir/${label//\//_}.yaml"
  if ! "$kustomize" build "$kustomization" >"$output"; then
    echo "FAIL $label: kustomize build failed" >&2
    failed=1
    continue
  fi
  # Credentials are created by the operator and only referenced by name; never ship them here.
  if grep -qE '^kind: Secret$' "$output"; then
    echo "FAIL $label: renders a Secret; reference it by name (secretRef) instead" >&2
    failed=1
  fi
  # -strict: unknown fields and duplicate keys are errors. No -ignore-missing-schemas: a kind
  # without a vendored schema fails, so adding a kind means adding its schema (generate-schemas.ts).
  if "$kubeconform" -strict -summary -output text \
    -schema-location "$schemas_dir/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$output" >"$output.log" 2>&1; then
    echo "ok   $label: $(tail -n 1 "$output.log")"
  else
    echo "FAIL $label:" >&2
    sed "s#$output#$label#" "$output.log" >&2
    failed=1
  fi
done
exit "$failed"
