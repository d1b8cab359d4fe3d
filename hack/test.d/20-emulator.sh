# Sourced by hack/test.sh: the real OpenStack clients test/emulator drives
# the emulator with: Debian's openstacksdk (0.101) and the openstack CLI
# (python3-openstackclient 6.0, with python3-ironicclient for `openstack
# baremetal`). The Ansible tests use the openstack-apb
# image that 10-images.sh builds (OSB_SKIP=images skips them).
# OSB_SKIP=emulator skips the suite.
need_apt python3-openstacksdk python3-openstackclient python3-ironicclient
# The openstack CLI's plugins for the services test/emulator drives with
# it: Trove (database ...), Designate (zone, recordset), Octavia
# (loadbalancer ...) and Heat (stack ...).
need_apt python3-troveclient python3-designateclient python3-octaviaclient python3-heatclient
