package nova

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service.
func (n *Nova) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", n.versions, core.Public)
	rt.Handle("GET /v2.1", n.version, core.Public)
	rt.Handle("GET /v2.1/{$}", n.version, core.Public)
	rt.Handle("GET /v2", n.versionV2, core.Public)
	rt.Handle("GET /v2/{$}", n.versionV2, core.Public)

	const v = "/v2.1"
	// flavors
	rt.Handle("GET "+v+"/flavors", n.listFlavors)
	rt.Handle("GET "+v+"/flavors/detail", n.listFlavors)
	rt.Handle("POST "+v+"/flavors", n.createFlavor, core.AdminOnly)
	rt.Handle("GET "+v+"/flavors/{flavor_id}", n.showFlavor)
	rt.Handle("PUT "+v+"/flavors/{flavor_id}", n.updateFlavor, core.AdminOnly)
	rt.Handle("DELETE "+v+"/flavors/{flavor_id}", n.deleteFlavor, core.AdminOnly)
	rt.Handle("POST "+v+"/flavors/{flavor_id}/action", n.flavorAction, core.AdminOnly)
	rt.Handle("GET "+v+"/flavors/{flavor_id}/os-flavor-access", n.listFlavorAccess, core.AdminOnly)
	rt.Handle("GET "+v+"/flavors/{flavor_id}/os-extra_specs", n.listExtraSpecs)
	rt.Handle("POST "+v+"/flavors/{flavor_id}/os-extra_specs", n.createExtraSpecs, core.AdminOnly)
	rt.Handle("GET "+v+"/flavors/{flavor_id}/os-extra_specs/{key}", n.showExtraSpec)
	rt.Handle("PUT "+v+"/flavors/{flavor_id}/os-extra_specs/{key}", n.updateExtraSpec, core.AdminOnly)
	rt.Handle("DELETE "+v+"/flavors/{flavor_id}/os-extra_specs/{key}", n.deleteExtraSpec, core.AdminOnly)
	// keypairs
	rt.Handle("GET "+v+"/os-keypairs", n.listKeypairs)
	rt.Handle("POST "+v+"/os-keypairs", n.createKeypair)
	rt.Handle("GET "+v+"/os-keypairs/{name}", n.showKeypair)
	rt.Handle("DELETE "+v+"/os-keypairs/{name}", n.deleteKeypair)
	// servers
	rt.Handle("GET "+v+"/servers", n.listServers)
	rt.Handle("GET "+v+"/servers/detail", n.listServers)
	rt.Handle("POST "+v+"/servers", n.createServer)
	rt.Handle("GET "+v+"/servers/{server_id}", n.showServer)
	rt.Handle("PUT "+v+"/servers/{server_id}", n.updateServer)
	rt.Handle("DELETE "+v+"/servers/{server_id}", n.deleteServer)
	rt.Handle("POST "+v+"/servers/{server_id}/action", n.serverAction)
	rt.Handle("GET "+v+"/servers/{server_id}/metadata", n.listMetadata)
	rt.Handle("POST "+v+"/servers/{server_id}/metadata", n.updateMetadata)
	rt.Handle("PUT "+v+"/servers/{server_id}/metadata", n.replaceMetadata)
	rt.Handle("GET "+v+"/servers/{server_id}/metadata/{key}", n.showMetadataItem)
	rt.Handle("PUT "+v+"/servers/{server_id}/metadata/{key}", n.putMetadataItem)
	rt.Handle("DELETE "+v+"/servers/{server_id}/metadata/{key}", n.deleteMetadataItem)
	rt.Handle("GET "+v+"/servers/{server_id}/tags", n.listTags)
	rt.Handle("PUT "+v+"/servers/{server_id}/tags", n.replaceTags)
	rt.Handle("DELETE "+v+"/servers/{server_id}/tags", n.deleteTags)
	rt.Handle("GET "+v+"/servers/{server_id}/tags/{tag}", n.checkTag)
	rt.Handle("PUT "+v+"/servers/{server_id}/tags/{tag}", n.addTag)
	rt.Handle("DELETE "+v+"/servers/{server_id}/tags/{tag}", n.deleteTag)
	rt.Handle("GET "+v+"/servers/{server_id}/ips", n.listIPs)
	rt.Handle("GET "+v+"/servers/{server_id}/ips/{network}", n.showIPs)
	rt.Handle("GET "+v+"/servers/{server_id}/os-volume_attachments", n.listVolumeAttachments)
	rt.Handle("POST "+v+"/servers/{server_id}/os-volume_attachments", n.attachVolume)
	rt.Handle("GET "+v+"/servers/{server_id}/os-volume_attachments/{volume_id}", n.showVolumeAttachment)
	rt.Handle("PUT "+v+"/servers/{server_id}/os-volume_attachments/{volume_id}", n.updateVolumeAttachment)
	rt.Handle("DELETE "+v+"/servers/{server_id}/os-volume_attachments/{volume_id}", n.detachVolume)
	rt.Handle("GET "+v+"/servers/{server_id}/os-interface", n.listInterfaces)
	rt.Handle("POST "+v+"/servers/{server_id}/os-interface", n.attachInterface)
	rt.Handle("GET "+v+"/servers/{server_id}/os-interface/{port_id}", n.showInterface)
	rt.Handle("DELETE "+v+"/servers/{server_id}/os-interface/{port_id}", n.detachInterface)
	rt.Handle("GET "+v+"/servers/{server_id}/os-security-groups", n.listServerSecurityGroups)
	rt.Handle("GET "+v+"/servers/{server_id}/os-instance-actions", n.listInstanceActions)
	// the security group proxies to Neutron (to 2.35)
	rt.Handle("GET "+v+"/os-security-groups", n.listSecurityGroups)
	rt.Handle("POST "+v+"/os-security-groups", n.createSecurityGroup)
	rt.Handle("GET "+v+"/os-security-groups/{id}", n.showSecurityGroup)
	rt.Handle("PUT "+v+"/os-security-groups/{id}", n.updateSecurityGroup)
	rt.Handle("DELETE "+v+"/os-security-groups/{id}", n.deleteSecurityGroup)
	rt.Handle("POST "+v+"/os-security-group-rules", n.createSecurityGroupRule)
	rt.Handle("DELETE "+v+"/os-security-group-rules/{id}", n.deleteSecurityGroupRule)
	// server groups
	rt.Handle("GET "+v+"/os-server-groups", n.listGroups)
	rt.Handle("POST "+v+"/os-server-groups", n.createGroup)
	rt.Handle("GET "+v+"/os-server-groups/{group_id}", n.showGroup)
	rt.Handle("DELETE "+v+"/os-server-groups/{group_id}", n.deleteGroup)
	// limits, quotas, zones, hypervisors, services
	rt.Handle("GET "+v+"/limits", n.limits)
	rt.Handle("GET "+v+"/os-quota-sets/{project_id}", n.showQuotas)
	rt.Handle("GET "+v+"/os-quota-sets/{project_id}/defaults", n.showQuotaDefaults)
	rt.Handle("GET "+v+"/os-quota-sets/{project_id}/detail", n.showQuotaDetail)
	rt.Handle("PUT "+v+"/os-quota-sets/{project_id}", n.updateQuotas, core.AdminOnly)
	rt.Handle("DELETE "+v+"/os-quota-sets/{project_id}", n.deleteQuotas, core.AdminOnly)
	rt.Handle("GET "+v+"/os-availability-zone", n.listZones)
	rt.Handle("GET "+v+"/os-availability-zone/detail", n.listZonesDetail, core.AdminOnly)
	rt.Handle("GET "+v+"/os-hypervisors", n.listHypervisors, core.AdminOnly)
	rt.Handle("GET "+v+"/os-hypervisors/detail", n.listHypervisors, core.AdminOnly)
	rt.Handle("GET "+v+"/os-hypervisors/statistics", n.hypervisorStats, core.AdminOnly)
	rt.Handle("GET "+v+"/os-hypervisors/{hypervisor_id}", n.showHypervisor, core.AdminOnly)
	rt.Handle("GET "+v+"/os-services", n.listServices, core.AdminOnly)
	rt.Handle("PUT "+v+"/os-services/{service_id}", n.updateService, core.AdminOnly)
	rt.Handle("GET "+v+"/extensions", n.listExtensions)
}

const versionUpdated = "2013-07-23T11:33:21Z"

func (n *Nova) v21Doc(r *http.Request) map[string]any {
	return map[string]any{"id": "v2.1", "status": "CURRENT", "version": MaxMicroversion, "min_version": "2.1",
		"updated": versionUpdated, "links": []map[string]any{{"rel": "self", "href": core.ServiceURL(r) + "/v2.1/"}}}
}

// versions is Nova's root document (200, both API versions).
func (n *Nova) versions(w http.ResponseWriter, r *http.Request) error {
	v2 := map[string]any{"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
		"updated": "2011-01-21T11:33:21Z", "links": []map[string]any{{"rel": "self", "href": core.ServiceURL(r) + "/v2/"}}}
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{v2, n.v21Doc(r)}})
	return nil
}

func (n *Nova) version(w http.ResponseWriter, r *http.Request) error {
	doc := n.v21Doc(r)
	doc["links"] = []map[string]any{{"rel": "self", "href": core.ServiceURL(r) + "/v2.1/"},
		{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}}
	doc["media-types"] = []map[string]any{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}}
	core.WriteJSON(w, http.StatusOK, map[string]any{"version": doc})
	return nil
}

func (n *Nova) versionV2(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, map[string]any{"version": map[string]any{"id": "v2.0", "status": "SUPPORTED",
		"version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
		"links": []map[string]any{{"rel": "self", "href": core.ServiceURL(r) + "/v2/"},
			{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}},
		"media-types": []map[string]any{{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}}}})
	return nil
}

// links is Nova's self + bookmark pair.
func links(r *http.Request, collection, id string) []map[string]string {
	return []map[string]string{
		{"rel": "self", "href": core.ServiceURL(r) + "/v2.1/" + collection + "/" + id},
		{"rel": "bookmark", "href": core.ServiceURL(r) + "/" + collection + "/" + id},
	}
}

// collectionLinks is Nova's _get_collection_links: a next link whenever a
// page is as long as the limit asked for (Nova does not look further).
func collectionLinks(r *http.Request, page core.Page, n int, lastID string) []map[string]string {
	if page.Limit <= 0 || n != page.Limit || n == 0 {
		return nil
	}
	return core.NextLinks(r, true, lastID)
}

// parsePage is core.ParsePage with Nova's messages and max 1000.
func parsePage(r *http.Request) (core.Page, error) {
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return core.Page{}, core.BadRequest("Invalid input for query parameters limit. Value: %s. '%s' does not match '^[0-9]*$'", s, s)
		}
		if n < 0 {
			return core.Page{}, core.BadRequest("limit param must be positive")
		}
	}
	return core.ParsePage(r, 1000)
}

// paginate applies the page and maps Paginate's 400 to Nova's words.
func paginate[T any](items []T, key func(T) string, page core.Page) ([]T, error) {
	out, _, err := core.Paginate(items, key, page)
	return out, err
}

func fullPathHas(r *http.Request, suffix string) bool { return strings.HasSuffix(r.URL.Path, suffix) }
