// Command bundlegen writes one OpenStack bundle under registries/ for each
// resource module of the openstack.cloud collection (a module whose option
// state offers present and absent) that no hand-written bundle covers and
// that makes sense as a catalog service. Its input is modules.json, the
// modules' argument specs and docs as extract.py reads them inside the
// openstack-apb image (extract.sh); its output is committed, and its test
// regenerates it and fails when the committed bundles differ. README.md
// lists the modules it covers and those it leaves out, with why.
//
//	go run ./hack/bundlegen [-modules hack/bundlegen/modules.json] [-out registries] [-check]
package main
