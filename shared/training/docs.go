package training

import (
	"context"
	"encoding/json"
	"strings"
)

// Doc is one small JSON document kept by a DocStore: the classes and call-ups of 调训, the
// subscriptions, deliveries and outbox of notices (docs/api.md “Classes and notices”) and the
// progress of recompute jobs. Kind
// names the collection, ID the document within it (ids sort as byte strings).
type Doc struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Body    json.RawMessage `json:"body"`
	Version int64           `json:"version"`
}

// Document kinds.
const (
	DocClass        = "class"        // id: course_id → Class
	DocCall         = "call"         // id: cadre_id/course_id → CallIndex (a cadre's call-ups)
	DocSubscription = "subscription" // id: subscription_id → Subscription
	DocDelivery     = "delivery"     // id: subscription_id/delivery_id → Delivery (the delivery log)
	DocDue          = "due"          // id: subscription_id/delivery_id → Due (the outbox)
	DocJob          = "job"          // id: job_id → Job (a full recompute's progress)
)

// DocStore keeps documents under optimistic concurrency. It is what the 调训 and notice features
// need from storage: every write is conditional on the version read, so two writers never lose
// each other's change, and a create (expectVersion 0) of an existing id changes nothing.
type DocStore interface {
	// GetDoc returns the document, or ENOTFOUND.
	GetDoc(ctx context.Context, kind, id string) (Doc, error)

	// PutDoc stores d if the stored version is expectVersion (0: the document must not exist),
	// else ECONFLICT and nothing changes. The stored (and returned) Version is expectVersion+1.
	PutDoc(ctx context.Context, d Doc, expectVersion int64) (Doc, error)

	// DeleteDoc deletes the document if its stored version is expectVersion, else ECONFLICT;
	// deleting a document that does not exist is a no-op (nil).
	DeleteDoc(ctx context.Context, kind, id string, expectVersion int64) error

	// ListDocs returns a page of the documents of kind whose id starts with idPrefix, ordered by
	// id. cursor "" starts; the returned cursor is "" after the last page. limit ≤ 0 means 100. An
	// unreadable cursor is EINVALID.
	ListDocs(ctx context.Context, kind, idPrefix, cursor string, limit int) ([]Doc, string, error)
}

// CheckDocKey reports whether kind and id can key a document: non-empty, no NUL, no '#' in the
// kind (both stores join them with separators).
func CheckDocKey(kind, id string) error {
	if kind == "" || id == "" || strings.ContainsAny(kind, "\x00#/") || strings.Contains(id, "\x00") || len(id) > 1024 {
		return Errorf(EINVALID, "document key %q/%q is not usable", kind, id)
	}
	return nil
}
