// Package apb owns the Ansible Playbook Bundle format: apb.yml specs (parse
// and validate, with errors naming the field), the com.redhat.apb.spec and
// runtime image labels, the catalog ids derived from names, and the one
// conversion of a spec into its OSB service and plans (parameter schemas,
// form definitions, maintenance_info) exactly as the Automation Broker
// did. It knows nothing of Kubernetes or HTTP; it uses only the OSB wire
// types (pkg/osb/osbapi).
package apb
