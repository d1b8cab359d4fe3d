package octavia

import (
	"net/http"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// Routes implements core.Service. Octavia serves its API under /v2 and
// /v2.0 (octaviaclient's), each both under lbaas/ and at the top
// (api/v2/controllers: V2Controller has the lbaas resources and lbaas).
func (o *Octavia) Routes(rt *core.Router) {
	rt.Handle("GET /{$}", o.versions, core.Public)
	for _, v := range []string{"/v2", "/v2.0"} {
		rt.Handle("GET "+v, o.v2Root)
		rt.Handle("GET "+v+"/{$}", o.v2Root)
		rt.Handle("GET "+v+"/octavia/amphorae", o.listAmphorae, core.AdminOnly)
		rt.Handle("GET "+v+"/octavia/amphorae/{amphora_id}", o.showAmphora, core.AdminOnly)
		rt.Handle("GET "+v+"/octavia/amphorae/{amphora_id}/stats", o.amphoraStats, core.AdminOnly)
		rt.Handle("PUT "+v+"/octavia/amphorae/{amphora_id}/failover", o.amphoraAction, core.AdminOnly)
		rt.Handle("PUT "+v+"/octavia/amphorae/{amphora_id}/config", o.amphoraAction, core.AdminOnly)
		for _, p := range []string{v + "/lbaas", v} {
			o.resourceRoutes(rt, p)
		}
	}
}

func (o *Octavia) resourceRoutes(rt *core.Router, p string) {
	rt.Handle("GET "+p+"/loadbalancers", o.listLBs)
	rt.Handle("POST "+p+"/loadbalancers", o.createLB)
	rt.Handle("GET "+p+"/loadbalancers/{lb_id}", o.showLB)
	rt.Handle("PUT "+p+"/loadbalancers/{lb_id}", o.updateLB)
	rt.Handle("DELETE "+p+"/loadbalancers/{lb_id}", o.deleteLB)
	rt.Handle("GET "+p+"/loadbalancers/{lb_id}/status", o.lbStatus)
	rt.Handle("GET "+p+"/loadbalancers/{lb_id}/statuses", o.lbStatus)
	rt.Handle("GET "+p+"/loadbalancers/{lb_id}/stats", o.lbStats)
	rt.Handle("PUT "+p+"/loadbalancers/{lb_id}/failover", o.failoverLB, core.AdminOnly)

	rt.Handle("GET "+p+"/listeners", o.listListeners)
	rt.Handle("POST "+p+"/listeners", o.createListener)
	rt.Handle("GET "+p+"/listeners/{listener_id}", o.showListener)
	rt.Handle("PUT "+p+"/listeners/{listener_id}", o.updateListener)
	rt.Handle("DELETE "+p+"/listeners/{listener_id}", o.deleteListener)
	rt.Handle("GET "+p+"/listeners/{listener_id}/stats", o.listenerStats)

	rt.Handle("GET "+p+"/pools", o.listPools)
	rt.Handle("POST "+p+"/pools", o.createPool)
	rt.Handle("GET "+p+"/pools/{pool_id}", o.showPool)
	rt.Handle("PUT "+p+"/pools/{pool_id}", o.updatePool)
	rt.Handle("DELETE "+p+"/pools/{pool_id}", o.deletePool)
	rt.Handle("GET "+p+"/pools/{pool_id}/members", o.listMembers)
	rt.Handle("POST "+p+"/pools/{pool_id}/members", o.createMember)
	rt.Handle("PUT "+p+"/pools/{pool_id}/members", o.batchMembers)
	rt.Handle("GET "+p+"/pools/{pool_id}/members/{member_id}", o.showMember)
	rt.Handle("PUT "+p+"/pools/{pool_id}/members/{member_id}", o.updateMember)
	rt.Handle("DELETE "+p+"/pools/{pool_id}/members/{member_id}", o.deleteMember)

	rt.Handle("GET "+p+"/healthmonitors", o.listHMs)
	rt.Handle("POST "+p+"/healthmonitors", o.createHM)
	rt.Handle("GET "+p+"/healthmonitors/{hm_id}", o.showHM)
	rt.Handle("PUT "+p+"/healthmonitors/{hm_id}", o.updateHM)
	rt.Handle("DELETE "+p+"/healthmonitors/{hm_id}", o.deleteHM)

	rt.Handle("GET "+p+"/l7policies", o.listL7Policies)
	rt.Handle("POST "+p+"/l7policies", o.createL7Policy)
	rt.Handle("GET "+p+"/l7policies/{policy_id}", o.showL7Policy)
	rt.Handle("PUT "+p+"/l7policies/{policy_id}", o.updateL7Policy)
	rt.Handle("DELETE "+p+"/l7policies/{policy_id}", o.deleteL7Policy)
	rt.Handle("GET "+p+"/l7policies/{policy_id}/rules", o.listL7Rules)
	rt.Handle("POST "+p+"/l7policies/{policy_id}/rules", o.createL7Rule)
	rt.Handle("GET "+p+"/l7policies/{policy_id}/rules/{rule_id}", o.showL7Rule)
	rt.Handle("PUT "+p+"/l7policies/{policy_id}/rules/{rule_id}", o.updateL7Rule)
	rt.Handle("DELETE "+p+"/l7policies/{policy_id}/rules/{rule_id}", o.deleteL7Rule)

	rt.Handle("GET "+p+"/quotas", o.listQuotas)
	rt.Handle("GET "+p+"/quotas/{project_id}", o.showQuota)
	rt.Handle("PUT "+p+"/quotas/{project_id}", o.setQuota)
	rt.Handle("DELETE "+p+"/quotas/{project_id}", o.resetQuota)
	rt.Handle("GET "+p+"/quotas/{project_id}/default", o.defaultQuota)

	rt.Handle("GET "+p+"/providers", o.listProviders)
	rt.Handle("GET "+p+"/providers/{provider}/flavor_capabilities", o.providerCapabilities)
	rt.Handle("GET "+p+"/providers/{provider}/availability_zone_capabilities", o.providerAZCapabilities)
	rt.Handle("GET "+p+"/flavors", o.listFlavors)
	rt.Handle("POST "+p+"/flavors", o.createFlavor, core.AdminOnly)
	rt.Handle("GET "+p+"/flavors/{flavor_id}", o.showFlavor)
	rt.Handle("PUT "+p+"/flavors/{flavor_id}", o.updateFlavor, core.AdminOnly)
	rt.Handle("DELETE "+p+"/flavors/{flavor_id}", o.deleteFlavor, core.AdminOnly)
	rt.Handle("GET "+p+"/flavorprofiles", o.listFlavorProfiles, core.AdminOnly)
	rt.Handle("POST "+p+"/flavorprofiles", o.createFlavorProfile, core.AdminOnly)
	rt.Handle("GET "+p+"/flavorprofiles/{profile_id}", o.showFlavorProfile, core.AdminOnly)
	rt.Handle("PUT "+p+"/flavorprofiles/{profile_id}", o.updateFlavorProfile, core.AdminOnly)
	rt.Handle("DELETE "+p+"/flavorprofiles/{profile_id}", o.deleteFlavorProfile, core.AdminOnly)
	rt.Handle("GET "+p+"/availabilityzones", o.listAZs)
	rt.Handle("GET "+p+"/availabilityzones/{az}", o.showAZ)
	rt.Handle("GET "+p+"/availabilityzoneprofiles", o.listAZProfiles, core.AdminOnly)
	rt.Handle("GET "+p+"/availabilityzoneprofiles/{profile_id}", o.showAZProfile, core.AdminOnly)
}

// versionList is api/root_controller.py's index: v2.0 ... v2.26, all at
// .../v2, the last CURRENT.
var versionList = []struct{ id, updated string }{
	{"v2.0", "2016-12-11T00:00:00Z"}, {"v2.1", "2018-04-20T00:00:00Z"}, {"v2.2", "2018-07-31T00:00:00Z"},
	{"v2.3", "2018-12-18T00:00:00Z"}, {"v2.4", "2018-12-19T00:00:00Z"}, {"v2.5", "2019-01-21T00:00:00Z"},
	{"v2.6", "2019-01-25T00:00:00Z"}, {"v2.7", "2018-01-25T12:00:00Z"}, {"v2.8", "2019-02-12T00:00:00Z"},
	{"v2.9", "2019-03-04T00:00:00Z"}, {"v2.10", "2019-03-05T00:00:00Z"}, {"v2.11", "2019-06-24T00:00:00Z"},
	{"v2.12", "2019-09-11T00:00:00Z"}, {"v2.13", "2019-09-13T00:00:00Z"}, {"v2.14", "2019-11-10T00:00:00Z"},
	{"v2.15", "2020-03-10T00:00:00Z"}, {"v2.16", "2020-03-15T00:00:00Z"}, {"v2.17", "2020-04-29T00:00:00Z"},
	{"v2.18", "2020-04-29T01:00:00Z"}, {"v2.19", "2020-05-12T00:00:00Z"}, {"v2.20", "2020-08-02T00:00:00Z"},
	{"v2.21", "2020-09-03T00:00:00Z"}, {"v2.22", "2020-09-04T00:00:00Z"}, {"v2.23", "2020-09-07T00:00:00Z"},
	{"v2.24", "2020-10-15T00:00:00Z"}, {"v2.25", "2021-10-02T00:00:00Z"}, {"v2.26", "2022-08-29T00:00:00Z"},
}

func (o *Octavia) versions(w http.ResponseWriter, r *http.Request) error {
	href := core.ServiceURL(r) + "/v2"
	out := make([]map[string]any, 0, len(versionList))
	for i, v := range versionList {
		status := "SUPPORTED"
		if i == len(versionList)-1 {
			status = "CURRENT"
		}
		out = append(out, map[string]any{"id": v.id, "status": status, "updated": v.updated,
			"links": []map[string]string{{"href": href, "rel": "self"}}})
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"versions": out})
	return nil
}

// v2Root is BaseV2Controller.get: the JSON string "v2".
func (o *Octavia) v2Root(w http.ResponseWriter, r *http.Request) error {
	core.WriteJSON(w, http.StatusOK, "v2")
	return nil
}

// do calls another service of the emulator with the caller's token.
func (o *Octavia) do(r *http.Request, service, method, path string, body, out any) error {
	return o.env.Do(r.Context(), core.Call{Identity: core.IdentityOf(r), Service: service, Method: method, Path: path, Body: body}, out)
}
