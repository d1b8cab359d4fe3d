# Sourced by hack/test.sh: what test/local needs beyond the images (which
# it builds as make run does): the Docker engine, curl and python3 for the
# README's walk-throughs, and the openstack CLI they show the keypair
# with. OSB_SKIP=local skips the suite.
need_apt docker.io curl python3 python3-openstackclient
hack/docker.sh
