// Package manila is the emulator's Shared File Systems service (Manila
// v2, API microversions 2.0-2.73 as Manila 15 "Zed" serves them, chosen
// with X-OpenStack-Manila-API-Version): version discovery, share types
// (a default one, admin CRUD, extra specs), share networks, shares
// (creating -> available after -delay, NFS and CIFS, metadata, export
// locations, extend and shrink), access rules (allow_access / deny_access
// with ip, user and cert rules, rw/ro, queued_to_apply -> active; the
// access_list action of 2.7-2.44 and the share-access-rules API of 2.45+),
// quotas (413), limits and availability zones.
//
// The catalog carries it twice, as shared-file-system and sharev2, at
// /share/v2/<project_id>.
package manila
