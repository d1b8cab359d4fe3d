package magnum

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Magnum checks the OpenStack resources a template or cluster names
// (magnum/api/attr_validator.py) with the caller's token. Here that is
// env.Do to the emulator's Glance, Nova and Neutron; when one of them is
// not part of the emulator its check is skipped.

// drivers are the (server_type, os_distro, coe) triples Magnum 15's
// drivers provide (setup.cfg magnum.drivers).
var drivers = [][3]string{
	{"vm", "coreos", "kubernetes"},
	{"vm", "fedora-atomic", "kubernetes"},
	{"vm", "fedora-coreos", "kubernetes"},
	{"bm", "fedora", "kubernetes"},
	{"vm", "ubuntu", "mesos"},
	{"vm", "fedora-atomic", "swarm"},
	{"vm", "fedora-atomic", "swarm-mode"},
}

func driverSupported(serverType, distro, coe string) bool {
	for _, d := range drivers {
		if d == [3]string{serverType, distro, coe} {
			return true
		}
	}
	return false
}

func notSupported(serverType string, distro *string, coe string) *core.APIError {
	d := "None"
	if distro != nil {
		d = *distro
	}
	return clientError(http.StatusBadRequest, "Cluster type (%s, %s, %s) not supported.", serverType, d, coe)
}

// unavailable: the target service is not part of this emulator (or the
// emulator is not serving): Magnum's check cannot run and is skipped.
func unavailable(err error) bool {
	var ce *core.CallError
	return err != nil && !errors.As(err, &ce)
}

func status(err error) int {
	var ce *core.CallError
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

type image struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	OSDistro string `json:"os_distro"`
}

// findImage is api_utils.get_openstack_resource on Glance: by id when
// the identifier looks like a UUID, else by name (one match). It returns
// nil, nil when Glance is not in the emulator.
func (m *Magnum) findImage(r *http.Request, ident string) (*image, error) {
	id := core.IdentityOf(r)
	if isUUID(ident) {
		var img image
		err := m.env.Do(r.Context(), core.Call{Identity: id, Service: "image", Method: "GET", Path: "/v2/images/" + url.PathEscape(ident)}, &img)
		switch {
		case err == nil:
			return &img, nil
		case unavailable(err):
			return nil, nil
		case status(err) == http.StatusNotFound:
			return nil, clientError(http.StatusBadRequest, "Image %s could not be found.", ident)
		case status(err) == http.StatusForbidden:
			return nil, clientError(http.StatusForbidden, "Not authorized for image %s.", ident)
		default:
			return nil, err
		}
	}
	var list struct {
		Images []image `json:"images"`
	}
	err := m.env.Do(r.Context(), core.Call{Identity: id, Service: "image", Method: "GET", Path: "/v2/images", Query: url.Values{"name": {ident}}}, &list)
	if unavailable(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch len(list.Images) {
	case 0:
		return nil, clientError(http.StatusBadRequest, "Image %s could not be found.", ident)
	case 1:
		return &list.Images[0], nil
	}
	return nil, clientError(http.StatusConflict, "Multiple images exist with same name %s. Please use the resource id instead.", ident)
}

// imageDistro is what enforce_driver_supported reads: the image's
// os_distro, nil when it cannot be found (any error is swallowed there).
func (m *Magnum) imageDistro(r *http.Request, ident string) (distro *string, skipped bool) {
	img, err := m.findImage(r, ident)
	if err != nil || (img == nil) {
		return nil, img == nil && err == nil
	}
	if img.OSDistro == "" {
		return nil, false
	}
	return &img.OSDistro, false
}

// validateImage is attr_validator.validate_image: it returns the image's
// os_distro ("" when Glance is not in the emulator).
func (m *Magnum) validateImage(r *http.Request, ident string) (string, error) {
	img, err := m.findImage(r, ident)
	if err != nil || img == nil {
		return "", err
	}
	if img.OSDistro == "" {
		return "", clientError(http.StatusBadRequest, "Image %s doesn't contain os_distro field.", ident)
	}
	return img.OSDistro, nil
}

// validateFlavor is attr_validator.validate_flavor: a flavor of the list
// whose name or id is the identifier.
func (m *Magnum) validateFlavor(r *http.Request, ident string) error {
	var list struct {
		Flavors []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"flavors"`
	}
	err := m.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "compute", Method: "GET", Path: "/v2.1/flavors/detail"}, &list)
	if unavailable(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, f := range list.Flavors {
		if f.ID == ident || f.Name == ident {
			return nil
		}
	}
	return clientError(http.StatusBadRequest, "Unable to find flavor %s.", ident)
}

// validateKeypair is attr_validator.validate_keypair (404 when missing).
func (m *Magnum) validateKeypair(r *http.Request, name string) error {
	err := m.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "compute", Method: "GET", Path: "/v2.1/os-keypairs/" + url.PathEscape(name)}, nil)
	switch {
	case err == nil, unavailable(err):
		return nil
	case status(err) == http.StatusNotFound:
		return clientError(http.StatusNotFound, "Unable to find keypair %s.", name)
	}
	return err
}

// validateExternalNetwork is attr_validator.validate_external_network:
// one external network whose name or id is the identifier.
func (m *Magnum) validateExternalNetwork(r *http.Request, ident string) error {
	var list struct {
		Networks []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"networks"`
	}
	err := m.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: "network", Method: "GET", Path: "/v2.0/networks",
		Query: url.Values{"router:external": {"True"}}}, &list)
	if unavailable(err) {
		return nil
	}
	if err != nil {
		return err
	}
	n := 0
	for _, net := range list.Networks {
		if net.ID == ident || net.Name == ident {
			n++
		}
	}
	switch {
	case n == 0:
		return clientError(http.StatusBadRequest, "Unable to find external network %s.", ident)
	case n > 1:
		return clientError(http.StatusConflict, "Multiple external networks exist with same name '%s'. Please use the external network ID instead.", ident)
	}
	return nil
}

// validateOSResources is attr_validator.validate_os_resources: the
// cluster's own value where it has one, else the template's.
func (m *Magnum) validateOSResources(r *http.Request, t *Template, c *Cluster) error {
	pick := func(cv, tv *string) *string {
		if cv != nil && *cv != "" {
			return cv
		}
		return tv
	}
	if _, err := m.validateImage(r, t.ImageID); err != nil {
		return err
	}
	var cf, cm *string
	if c != nil {
		cf, cm = c.FlavorID, c.MasterFlavorID
	}
	for _, f := range []*string{pick(cf, t.FlavorID), pick(cm, t.MasterFlavorID)} {
		if f != nil {
			if err := m.validateFlavor(r, *f); err != nil {
				return err
			}
		}
	}
	if t.ExternalNetworkID != nil {
		if err := m.validateExternalNetwork(r, *t.ExternalNetworkID); err != nil {
			return err
		}
	}
	if c != nil && c.Keypair != nil {
		if err := m.validateKeypair(r, *c.Keypair); err != nil {
			return err
		}
	}
	return nil
}
