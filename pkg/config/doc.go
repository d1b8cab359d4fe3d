// Package config reads the Automation Broker's config file: the same YAML
// sections and keys, so an existing config.yaml works unchanged, plus a few
// keys of this broker's own (marked in the types). It decodes, defaults and
// checks what is generic about the keys, with messages naming the key and
// line; what a component makes of its section is the component's, mapped
// by pkg/daemon.
package config
