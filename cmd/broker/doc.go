// Command broker is the openstack-service-broker daemon. It takes the same
// flags and config file as Automation Broker's asbd (the image also
// installs it under that name).
package main
