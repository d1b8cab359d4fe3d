package main

// The templates use [[ ]] so that Ansible's {{ }} stay as they are.

const dockerfileTmpl = `[[ .Header "" ]]# Built FROM openstack-apb (openstacksdk 0.101, the patched openstack.cloud
# collection this bundle was generated from, the openstack_apb role).
# hack/bundles.sh builds it with the apb.yml in the spec label.
ARG OPENSTACK_APB=openstack-service-broker/openstack-apb:latest
FROM ${OPENSTACK_APB}
ARG APB_SPEC
LABEL com.redhat.apb.spec=$APB_SPEC com.redhat.apb.runtime="2"
COPY playbooks /opt/apb/project
USER apb
`

const provisionTmpl = `[[ .Header "" ]]# Creates the [[ .R.Noun ]] with openstack.cloud.[[ .Module.Module ]] (state present)
[[- if .Identity ]] named osb-<instance id>:
# a repeated provision finds it instead of making a second.
[[- else ]]; it has no name: the
# module finds one with the same parameters, so a repeated provision makes none.
[[- end ]]
[[- if .R.TagKind ]]
# Tagged osb-instance-<instance id>, so that deprovision finds it even renamed.
[[- end ]]
# Bindings get its id and attributes.
- name: Provision an OpenStack [[ .R.Title ]]
  hosts: localhost
  gather_facts: false
  vars:
    resource_name: "osb-{{ _apb_service_instance_id }}"
  tasks:
    - block:
        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "10%%: creating %s" .What) ]]
[[- if .Project ]]

        - name: Find the credentials' project (the [[ .R.Noun ]]'s owner)
          ansible.builtin.command:
            argv: ["{{ ansible_playbook_python }}", "-c", "import openstack; print(openstack.connect().current_project_id)"]
          register: credentials_project
          changed_when: false
[[- end ]]
[[- range .Discovered ]]

        - name: Find the project's only [[ .Noun ]] ([[ .Name ]] not given)
          openstack.cloud.[[ .Module ]]:
          register: found_[[ .Name ]]
          when: [[ .Name ]] | default('', true) == ''

        - name: Check the project has exactly one
          ansible.builtin.assert:
            that:
              - found_[[ .Name ]].[[ .Key ]] | [[ .Select ]] | list | length == 1
            fail_msg: >-
              parameter [[ .Name ]] not given, and the project has
              {{ found_[[ .Name ]].[[ .Key ]] | [[ .Select ]] | list | length }} [[ .Noun ]]s
              [[ .Which ]] ({{ found_[[ .Name ]].[[ .Key ]] | [[ .Select ]] | map(attribute='name') | join(', ') }}):
              give [[ .Name ]]
            quiet: true
          when: [[ .Name ]] | default('', true) == ''

        - name: Use it
          ansible.builtin.set_fact:
            [[ .Var ]]: "{{ found_[[ .Name ]].[[ .Key ]] | [[ .Select ]] | map(attribute='id') | first }}"
          when: [[ .Name ]] | default('', true) == ''
[[- end ]]

        - name: Create the [[ .R.Noun ]]
          openstack.cloud.[[ .Module.Module ]]:
            state: present
[[- if .Identity ]]
            [[ .Identity ]]: "{{ resource_name }}"
[[- end ]]
[[- range .ModuleParams ]]
            [[ .Name ]]: [[ yamlstr (expr .) ]]
[[- end ]]
[[- range .Project ]]
            [[ . ]]: "{{ credentials_project.stdout | trim }}"
[[- end ]]
          register: result
[[- if .R.Wait ]]
          # The service builds it after the module returned: the module,
          # run again, finds it and returns its status.
          until: result is failed or (result.[[ .R.Wait.Key ]].status | default('')) not in ['', '[[ .R.Wait.Pending ]]']
          retries: [[ .R.Wait.Retries ]]
          delay: [[ .R.Wait.Delay ]]

        - name: Check the [[ .R.Noun ]] was built
          ansible.builtin.assert:
            that:
              - result.[[ .R.Wait.Key ]].status == '[[ .R.Wait.Done ]]'
            fail_msg: [[ yamlstr (printf "the %s ended {{ result.%s.status }}" .What .R.Wait.Key) ]]
            quiet: true
[[- end ]]
[[- if .R.TagKind ]]

        - name: Tag the [[ .R.Noun ]] with the instance id
          openstack_apb_tagged:
            resource: [[ .R.TagKind ]]
            id: "{{ result.id }}"
            tags: ["osb-instance-{{ _apb_service_instance_id }}"]
[[- end ]]

[[- if .R.Lookup ]]

        - name: Look the [[ .R.Noun ]] up (the module returns nothing for one that exists)
          openstack.cloud.[[ .R.Lookup.Module ]]:
            [[ .R.Lookup.NameOption ]]: "{{ resource_name }}"
          register: found
          when: result.id is not defined
[[- end ]]

        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "80%%: %s ready" .What) ]]

        - name: Check the [[ .R.Noun ]] has an id
          ansible.builtin.assert:
            that:
              - fields.id | default('', true) != ''
            fail_msg: [[ yamlstr (printf "openstack.cloud.%s returned no id for the %s" .Module.Module .What) ]]
            quiet: true

        - name: Hand the [[ .R.Noun ]] to bindings
          asb_encode_binding:
            fields: "{{ fields }}"

        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "100%%: %s provisioned" .What) ]]
      rescue:
        - ansible.builtin.include_role:
            name: openstack_apb
            tasks_from: failed
      vars:
        # The module's result holds the resource as one dict (port,
        # secgroup, rule, ...) beside changed and id.
        resource: >-
          {{ result | dict2items | rejectattr('key', 'in', ['invocation', 'diff']) | selectattr('value', 'mapping')
             | map(attribute='value') | first | default({})
[[- if .R.Lookup ]]
             if result.id is defined else (found.[[ .R.Lookup.Key ]] | default([]) | first | default({}))
[[- end ]] }}
        fields: "{{ resource | combine({'id': result.id | default(resource.id | default(''))}) }}"
`

const deprovisionTmpl = `[[ .Header "" ]]# Deletes the [[ .R.Noun ]] with openstack.cloud.[[ .Module.Module ]] (state absent)
[[- if .Identity ]] named osb-<instance id>
[[- else ]], found by the
# parameters it was provisioned with
[[- end ]]
[[- if .R.TagKind ]], and those tagged
# osb-instance-<instance id>
[[- end ]]; one already gone is no error.
- name: Deprovision an OpenStack [[ .R.Title ]]
  hosts: localhost
  gather_facts: false
  vars:
    resource_name: "osb-{{ _apb_service_instance_id }}"
  tasks:
    - block:
        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "10%%: deleting %s" .What) ]]
[[- if .R.TagKind ]]

        - name: Delete the [[ .R.Noun ]]s tagged with the instance id
          openstack_apb_tagged:
            resource: [[ .R.TagKind ]]
            tags: ["osb-instance-{{ _apb_service_instance_id }}"]
            state: absent
[[- end ]]

[[- if .R.Remove ]]

        - name: Find the [[ .R.Noun ]] by its parameters
          openstack.cloud.[[ .R.Remove.Module ]]:
[[- range .RemoveParams ]]
            [[ .Name ]]: [[ yamlstr (expr .) ]]
[[- end ]]
          register: found

        - name: Delete the [[ .R.Noun ]]
          openstack.cloud.[[ .Module.Module ]]:
            state: absent
            [[ .R.Remove.IDOption ]]: "{{ item.id }}"
          loop: "{{ found.[[ .R.Remove.Key ]] | default([], true)[[ range .RemoveMatch ]] | selectattr('[[ .Name ]]', 'equalto', [[ jvalue . ]])[[ end ]] | list }}"
[[- else ]]

        - name: Delete the [[ .R.Noun ]]
          openstack.cloud.[[ .Module.Module ]]:
            state: absent
[[- if .Identity ]]
            [[ .Identity ]]: "{{ resource_name }}"
[[- range .AbsentModuleParams ]]
            [[ .Name ]]: [[ yamlstr (expr .) ]]
[[- end ]]
[[- else ]]
[[- range .ModuleParams ]]
            [[ .Name ]]: [[ yamlstr (expr .) ]]
[[- end ]]
[[- end ]]
[[- if .R.Wait ]]
          register: deleted
          # The service deletes it after the module returned: the module,
          # run again, deletes nothing once it is gone.
          until: deleted is failed or not deleted.changed
          retries: [[ .R.Wait.Retries ]]
          delay: [[ .R.Wait.Delay ]]
[[- end ]]
[[- if .R.GoneMessage ]]
          register: deleted
          # What it hangs on is gone, so it is too.
          failed_when: deleted.failed | default(false) and not (deleted.msg | default('') is search([[ squote .R.GoneMessage ]]))
[[- end ]]
[[- end ]]

        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "100%%: %s deleted" .What) ]]
      rescue:
        - ansible.builtin.include_role:
            name: openstack_apb
            tasks_from: failed
`

const bindTmpl = `[[ .Header "" ]]# Hands out the [[ .R.Noun ]]'s id and attributes, as provision stored them.
- name: Bind an OpenStack [[ .R.Title ]]
  hosts: localhost
  gather_facts: false
  vars:
    resource_name: "osb-{{ _apb_service_instance_id }}"
    stored: "{{ _apb_provision_creds | default({}) }}"
  tasks:
    - block:
        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "20%%: binding %s" .What) ]]

        - name: Check the provision handed the [[ .R.Noun ]] over
          ansible.builtin.assert:
            that:
              - stored.id | default('') != ''
            fail_msg: [[ yamlstr (printf "the %s has no id: its provision did not finish" .What) ]]
            quiet: true

        - name: Hand the [[ .R.Noun ]] to the binding
          asb_encode_binding:
            fields: "{{ stored }}"

        - name: Report progress
          asb_last_operation:
            description: [[ yamlstr (printf "100%%: bound to %s" .What) ]]
      rescue:
        - ansible.builtin.include_role:
            name: openstack_apb
            tasks_from: failed
`

const unbindTmpl = `[[ .Header "" ]]# A binding holds the [[ .R.Noun ]]'s id and attributes only: it grants nothing,
# so there is nothing to revoke.
- name: Unbind an OpenStack [[ .R.Title ]]
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Report progress
      asb_last_operation:
        description: "100%: unbound (nothing to revoke)"
`

const readmeTmpl = `<!-- [[ .Header "" | trimnl ]] -->
# OpenStack [[ .R.Title ]] (` + "`[[ .R.Bundle ]]`" + `)

[[ about .Module ]]

Generated by ` + "`hack/bundlegen`" + ` from the Ansible module
[openstack.cloud.[[ .Module.Module ]]](https://docs.ansible.com/ansible/7/collections/openstack/cloud/[[ .Module.Module ]]_module.html)
([[ .Collection ]] [[ .Version ]], as in openstack-apb): do not edit, change the
generator (hack/bundlegen/README.md).

| plan | what provision makes |
|---|---|
| ` + "`default`" + ` | one [[ .R.Noun ]] in [[ .R.Service ]], [[ if .Identity ]]named ` + "`osb-<instance id>`" + `[[ else ]]made from the parameters (it has no name)[[ end ]] |

## Parameters

| parameter | type | default | required | meaning |
|---|---|---|---|---|
[[- range .Params ]]
| ` + "`[[ .Name ]]`" + ` | [[ .Type ]][[ if .Enum ]]: [[ mdcell .Enum ]][[ end ]] | [[ mdcell .Default ]] | [[ if .Required ]]yes[[ end ]] | [[ mdcell .Description ]] |
[[- end ]]

Options of the module not offered:
[[ range .Hidden ]]
- ` + "`[[ .Name ]]`" + `: [[ .Why ]]
[[- end ]]

## Binding

` + "`id`" + ` and every attribute of the [[ .R.Noun ]] as the module returned it at
provision. A binding grants nothing: unbind has nothing to revoke.

## Actions

- **provision**: creates the [[ .R.Noun ]] (state present); a repeated provision
  finds it instead of making a second.
[[- if .R.TagKind ]] It is tagged ` + "`osb-instance-<instance id>`" + `.
[[- end ]][[ if .R.Wait ]] It waits until the service has built it (` + "`[[ .R.Wait.Done ]]`" + `).[[ end ]] A failure names the OpenStack error.
- **deprovision**: deletes it (state absent)[[ if .R.TagKind ]] and whatever carries its tag[[ end ]][[ if .R.Wait ]], waiting until it is gone[[ end ]]; one already gone is no error.
- **bind**: returns what provision stored. **unbind**: nothing to do.
`
