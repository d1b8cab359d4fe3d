module github.com/openstack-service-broker/openstack-service-broker

go 1.26.8
