package swift

import (
	"net/http"
	"strconv"

	"github.com/openstack-service-broker/openstack-service-broker/pkg/emulator/core"
)

// swiftInfo is the proxy's /info: the cluster's constraints and the
// middlewares that registered themselves, as clients read them
// (openstacksdk's get_info, swiftclient's capabilities).
func swiftInfo() []byte {
	policies := []any{core.Obj("name", PolicyName, "aliases", PolicyName, "default", true)}
	info := core.Obj(
		"swift", core.Obj(
			"version", Version,
			"strict_cors_mode", true,
			"policies", policies,
			"allow_account_management", false,
			"account_autocreate", true,
			"max_file_size", int64(MaxFileSize),
			"max_meta_name_length", MaxMetaNameLength,
			"max_meta_value_length", MaxMetaValueLength,
			"max_meta_count", MaxMetaCount,
			"max_meta_overall_size", MaxMetaOverallSize,
			"max_header_size", MaxHeaderSize,
			"max_object_name_length", MaxObjectNameLength,
			"container_listing_limit", ContainerListingLimit,
			"account_listing_limit", AccountListingLimit,
			"max_account_name_length", MaxAccountNameLength,
			"max_container_name_length", MaxContainerNameLength,
			"valid_api_versions", []any{"v1", "v1.0"},
			"extra_header_count", 0,
			"auto_create_account_prefix", ".",
		),
		"bulk_delete", core.Obj("max_deletes_per_request", MaxDeletesPerRequest, "max_failed_deletes", MaxFailedDeletes),
		"tempurl", core.Obj(
			"methods", []any{"GET", "HEAD", "PUT", "POST", "DELETE"},
			"incoming_remove_headers", []any{"x-timestamp"},
			"incoming_allow_headers", []any{},
			"outgoing_remove_headers", []any{"x-object-meta-*"},
			"outgoing_allow_headers", []any{"x-object-meta-public-*"},
			"allowed_digests", []any{"sha1", "sha256", "sha512"},
			"deprecated_digests", []any{"sha1"},
		),
		"keystoneauth", core.Obj(),
		"container_quotas", core.Obj(),
		"account_quotas", core.Obj(),
		"slo", core.Obj("max_manifest_segments", MaxManifestSegments, "max_manifest_size", MaxManifestSize,
			"yield_frequency", 10, "allow_async_delete", false),
		"versioned_writes", core.Obj("allowed_flags", []any{"x-versions-location", "x-history-location"}),
	)
	return core.PyJSON(info, true)
}

func (s *Swift) info(w http.ResponseWriter, r *http.Request) error {
	setTransID(w, r)
	q := r.URL.Query()
	if q.Has("swiftinfo_sig") || q.Has("swiftinfo_expires") {
		// No admin_key is configured: admin requests are refused.
		return fail(http.StatusForbidden, "")
	}
	body := swiftInfo()
	if o := r.Header.Get("Origin"); o != "" {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Expose-Headers", "x-trans-id")
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}

// RootInfo serves Swift's /info at the emulator's root as well: clients
// derive the /info URL from the object-store endpoint in two ways,
// swiftclient as <endpoint root>/info (/object-store/info here) and
// openstacksdk 0.101 as scheme://host/info, which on a real cloud is the
// Swift proxy's own root. It is hidden from the catalog.
type RootInfo struct{}

// NewRootInfo returns the root /info service.
func NewRootInfo() RootInfo { return RootInfo{} }

// Spec implements core.Service.
func (RootInfo) Spec() core.Spec {
	return core.Spec{Name: "swift-info", Type: "object-store-info", Prefix: "/info", Hidden: true,
		Errors: writeErrors, AuthErrors: writeAuthErrors}
}

// Routes implements core.Service.
func (RootInfo) Routes(rt *core.Router) {
	s := &Swift{}
	rt.Handle("GET /{$}", s.info, core.Public)
	rt.Handle("OPTIONS /{$}", s.options, core.Public)
	rt.Handle("/{path...}", func(w http.ResponseWriter, r *http.Request) error {
		setTransID(w, r)
		if r.URL.Path == "/" {
			return allowOnly("GET, HEAD, OPTIONS")
		}
		return fail(http.StatusNotFound, "")
	}, core.Public)
}

// State implements core.Service.
func (RootInfo) State() core.Persistent { return nil }

// Resources implements core.Service.
func (RootInfo) Resources() []core.Resource { return nil }
