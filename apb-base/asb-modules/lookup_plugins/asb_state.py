# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: asb_state
short_description: Reads the state saved by asb_set_state in earlier actions
description:
  - The broker mounts the instance's state ConfigMap at
    $BUNDLE_STATE_LOCATION (default /etc/apb/state), one file per key.
    Returns the values of the given keys, or with C(get_all=true) one dict
    of every key.
options:
  _terms: {description: keys to read}
  get_all: {description: return every key as a dict, type: bool, default: false}
"""

EXAMPLES = r"""
- debug: msg="{{ lookup('asb_state', 'volume_id') }}"
- debug: msg="{{ lookup('asb_state', get_all=True) }}"
- debug: msg="{{ lookup('asb_state', 'maybe', errors='ignore') }}"
"""

import os

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

DEFAULT_LOCATION = "/etc/apb/state"


def state_location():
    return os.environ.get("BUNDLE_STATE_LOCATION") or DEFAULT_LOCATION


def read_key(location, key):
    if not key or "/" in key or key.startswith("."):
        raise AnsibleError("asb_state: invalid key %r" % key)
    path = os.path.join(location, key)
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        raise AnsibleError("asb_state: no state key %r in %s" % (key, location))
    except OSError as e:
        raise AnsibleError("asb_state: cannot read %s: %s" % (path, e.strerror))


def read_all(location):
    if not os.path.isdir(location):
        return {}
    # A mounted ConfigMap also holds ..data and timestamped dirs: skip dotfiles.
    return {k: read_key(location, k) for k in sorted(os.listdir(location))
            if not k.startswith(".") and os.path.isfile(os.path.join(location, k))}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        location = state_location()
        if kwargs.get("get_all"):
            return [read_all(location)]
        return [read_key(location, str(t)) for t in terms]
