# Sourced by hack/test.sh: the real OpenStack clients test/emulator drives
# the emulator with: Debian's openstacksdk (0.101), the openstack CLI
# (python3-openstackclient 6.0), the CLI plugins Debian ships apart
# (ironic: `openstack baremetal`, trove: `database`, designate: `zone`,
# `recordset`, manila: `share`, zaqar: `messaging`, octavia:
# `loadbalancer`, heat: `stack`, magnum: `coe`) and swiftclient's swift
# command. The Ansible tests use the openstack-apb image that 10-images.sh
# builds (OSB_SKIP=images skips them). OSB_SKIP=emulator skips the suite.
need_apt python3-openstacksdk python3-openstackclient python3-ironicclient \
  python3-troveclient python3-designateclient python3-manilaclient \
  python3-zaqarclient python3-swiftclient python3-octaviaclient \
  python3-heatclient python3-magnumclient
