# Sourced by hack/test.sh after 30-kube.sh: the bundle images of
# registries/ for test/openstack, built by hack/bundles.sh FROM
# openstack-apb on the Docker engine (each skipped when its inputs are
# unchanged). The Docker platform runs them from the engine as they are
# (the suite tags them local/<bundle>:<tag of its own>, the name its
# broker's local registry gives them); the Kubernetes platform runs only
# the subset of test/openstack/kubernetes-subset.txt, so only those images
# are imported into the one-node cluster, as local/<bundle>:latest (all of
# them when Kubernetes runs the full matrix: OSB_TEST_FULL_MATRIX names
# kubernetes, or the docker platform does not run). The suite checks the
# emulator with the clients 20-emulator.sh installs.
# OSB_SKIP=openstack skips it; OSB_SKIP=docker or kube leaves that
# platform out.
_runtimes=${OSB_TEST_RUNTIMES:-docker kubernetes}
_on() { case " $_runtimes " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
_docker_runs=""; _on docker && ! skipped docker && _docker_runs=1
_kube_runs=""; _on kubernetes && ! skipped kube && ! skipped kubernetes && _kube_runs=1
if [ -z "$_docker_runs$_kube_runs" ]; then
  log "openstack: neither the docker nor the kubernetes platform runs (OSB_TEST_RUNTIMES, OSB_SKIP): the bundle suite will skip"
else
  _bundles_t0=$(date +%s)
  # The images build on the engine (hack/docker.sh installs and starts it
  # when 25-docker.sh did not: OSB_SKIP=docker), also for Kubernetes.
  hack/docker.sh
  mapfile -t _bundle_images < <(hack/bundles.sh)
  [ ${#_bundle_images[@]} -gt 0 ] || die "hack/bundles.sh built no bundle image"
  log "openstack: ${#_bundle_images[@]} bundle images built in $(( $(date +%s) - _bundles_t0 ))s"
  if [ -n "$_kube_runs" ]; then
    _import_t0=$(date +%s)
    case " ${OSB_TEST_FULL_MATRIX:-} " in *" kubernetes "*) _kube_full=1 ;; *) _kube_full=$([ -n "$_docker_runs" ] || echo 1) ;; esac
    _kube_images=()
    if [ -n "$_kube_full" ]; then
      _kube_images=("${_bundle_images[@]}")
    else
      mapfile -t _subset < <(sed -e 's/#.*//' test/openstack/kubernetes-subset.txt | awk 'NF { print $2 }' | sort -u)
      for _img in "${_bundle_images[@]}"; do
        _name=${_img##*/}
        case " ${_subset[*]} " in *" ${_name%:latest} "*) _kube_images+=("$_img") ;; esac
      done
      [ ${#_kube_images[@]} -eq ${#_subset[@]} ] ||
        die "test/openstack/kubernetes-subset.txt names bundles hack/bundles.sh did not build: ${_subset[*]}"
    fi
    hack/kube-cluster.sh import "${_kube_images[@]}"
    for _img in "${_kube_images[@]}"; do
      _name=${_img##*/}
      hack/kube-cluster.sh tag "$_img" "local/${_name%:latest}:latest"
    done
    log "openstack: ${#_kube_images[@]} bundle images in the node in $(( $(date +%s) - _import_t0 ))s" \
      "($([ -n "$_kube_full" ] && echo "full matrix on kubernetes" || echo "the kubernetes subset"))"
  fi
fi
