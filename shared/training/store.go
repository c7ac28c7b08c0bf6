package training

import (
	"context"
	"strings"
)

// CreateOutcome is what CreateRecord did.
type CreateOutcome string

const (
	Created   CreateOutcome = "created"
	Duplicate CreateOutcome = "duplicate" // same key, same content: nothing changed
	Conflict  CreateOutcome = "conflict"  // same key, other content: nothing changed
)

// CadreStore keeps cadre profiles.
type CadreStore interface {
	// GetCadre returns the cadre, or ENOTFOUND.
	GetCadre(ctx context.Context, id string) (Cadre, error)

	// PutCadre stores c under optimistic concurrency. With expectVersion 0 the cadre must not
	// exist yet; otherwise the stored Version must equal expectVersion. Either failing returns
	// ECONFLICT and changes nothing. On success the stored (and returned) Version is expectVersion+1.
	PutCadre(ctx context.Context, c Cadre, expectVersion int64) (Cadre, error)

	// ListCadres returns a page of cadres in the unit subtree unitPrefix, compared by whole path
	// segments: "cn/cq" matches "cn/cq" and "cn/cq/yuzhong" but not "cn/cqx"; "" matches all.
	// Order is by unit, then id. cursor "" starts; the returned cursor is "" after the last page.
	// limit ≤ 0 means 100. An unreadable cursor is EINVALID.
	ListCadres(ctx context.Context, unitPrefix, cursor string, limit int) ([]Cadre, string, error)
}

// RecordStore keeps training records.
type RecordStore interface {
	// CreateRecord stores r (ID and ContentHash set by Seal, Status active) unless a record with the
	// key (Source, ExternalID) exists: then it returns that record with Duplicate when its
	// ContentHash equals r's, else Conflict, and changes nothing. Of concurrent creates of one key
	// exactly one returns Created. A created record appends an INSERT change to the feed.
	CreateRecord(ctx context.Context, r Record) (Record, CreateOutcome, error)

	// GetRecord returns the record, or ENOTFOUND.
	GetRecord(ctx context.Context, id string) (Record, error)

	// ListRecords returns every record of the cadre, voided ones included, newest attribution
	// date first (then by id). An unknown cadre has no records (empty, no error).
	ListRecords(ctx context.Context, cadreID string) ([]Record, error)

	// ListRecordsPage returns a page of the cadre's archive in ListRecords order (newest
	// attribution date first, then by id), at most limit records (≤ 0 means 100), and the cursor
	// of the next page ("" after the last). cursor "" starts; the order is stable, so records
	// created meanwhile with older dates appear on later pages. An unreadable cursor is EINVALID.
	// An unknown cadre has no records.
	ListRecordsPage(ctx context.Context, cadreID, cursor string, limit int) ([]Record, string, error)

	// CadreWithRecords returns the cadre and those of its records whose attribution date lies in
	// span(cadre) = [from, to] (a zero date leaves that end open; a nil span: all records),
	// voided ones included, in ListRecords order, as one consistent read where the store can.
	// ENOTFOUND when the cadre does not exist. It is what an evaluation reads: only the windows
	// it needs (Rules.EvaluationRange, which depends on the cadre's profile).
	CadreWithRecords(ctx context.Context, cadreID string, span func(Cadre) (from, to Date)) (Cadre, []Record, error)

	// SupersedeRecord stores r as CreateRecord does and, in the same transaction, voids the record
	// oldID of the same cadre with v (one already voided keeps its first voiding). If r's key
	// exists it returns that record with Duplicate or Conflict and changes nothing. An unknown
	// oldID, or one of another cadre, is ENOTFOUND and changes nothing. The feed gets r's INSERT
	// and, when the old record changed, its MODIFY (docs/rules.md "One training, one count").
	SupersedeRecord(ctx context.Context, r Record, oldID string, v Voiding) (Record, CreateOutcome, error)

	// VoidRecord marks the record voided with v and appends a MODIFY change. A record already
	// voided is returned unchanged with changed=false and no change is appended. ENOTFOUND.
	VoidRecord(ctx context.Context, id string, v Voiding) (rec Record, changed bool, err error)
}

// SnapshotStore keeps the latest quota status of each cadre.
type SnapshotStore interface {
	// PutSnapshot stores s as the cadre's snapshot, unless the stored one has a later ComputedAt
	// (a slower, older computation never overwrites a newer one); that case returns nil.
	// A snapshot equal to the stored one in everything but ComputedAt is not written either (the
	// stored ComputedAt says since when the status has been what it is).
	PutSnapshot(ctx context.Context, s Status) error

	// PutSnapshots stores each status as PutSnapshot does, in as few writes as the store can, and
	// returns how many it wrote. On error, any subset may have been written.
	PutSnapshots(ctx context.Context, ss []Status) (int, error)

	// GetSnapshot returns the cadre's snapshot, or ENOTFOUND.
	GetSnapshot(ctx context.Context, cadreID string) (Status, error)
}

// FormStore keeps form entries (docs/rules.md §4).
type FormStore interface {
	// PutFormEntry creates or refreshes the active entry keyed by (CadreID, Form, RecordID). An
	// entry already withdrawn stays withdrawn (withdrawal is for good): nothing changes, nil.
	PutFormEntry(ctx context.Context, e FormEntry) error

	// PutFormEntries puts every entry as PutFormEntry does, in as few writes as the store can
	// (one transaction on the embedded store); on an error some may have been put.
	PutFormEntries(ctx context.Context, es []FormEntry) error

	// ListFormEntries returns the cadre's entries in the form, withdrawn ones included, newest
	// start date first (then by record id).
	ListFormEntries(ctx context.Context, cadreID string, form FormKind) ([]FormEntry, error)

	// WithdrawFormEntries marks every active entry of the record (in any form) withdrawn with w
	// and returns how many it withdrew; entries already withdrawn keep their first withdrawal.
	WithdrawFormEntries(ctx context.Context, cadreID, recordID string, w Voiding) (int, error)
}

// ChangeFeed is the feed of record changes (the DynamoDB stream in AWS).
type ChangeFeed interface {
	// ReadChanges returns up to limit changes made after cursor ("" = the oldest retained),
	// oldest first, and the cursor to pass next time (unchanged when there is nothing new).
	// Changes of one cadre come in the order they were made. limit ≤ 0 means 100. An unreadable
	// cursor is EINVALID.
	ReadChanges(ctx context.Context, cursor string, limit int) ([]Change, string, error)
}

// CursorStore keeps the positions of change-feed consumers beside the feed itself, so that a
// store restored from an older copy brings back cursors that match its feed, and the feed can be
// trimmed once every consumer has passed an entry. The embedded store implements it; consumers
// of other stores keep their cursors elsewhere.
type CursorStore interface {
	// LoadCursor returns the consumer's saved cursor, "" when it has none.
	LoadCursor(ctx context.Context, consumer string) (string, error)
	// SaveCursor durably saves the consumer's cursor.
	SaveCursor(ctx context.Context, consumer, cursor string) error
}

// Store is everything the handlers need from storage. Implementations: shared/bolt (embedded,
// one file) and shared/dynamo (DynamoDB). Both pass the contract suite in shared/storetest.
type Store interface {
	CadreStore
	RecordStore
	SnapshotStore
	FormStore
	RollupStore
	ChangeFeed
	DocStore
	// Close releases the store; acknowledged writes are already durable.
	Close() error
}

// InUnit reports whether unit lies in the subtree prefix, by whole path segments
// ("cn/cq" contains "cn/cq" and "cn/cq/yuzhong", not "cn/cqx"). "" contains everything.
func InUnit(unit, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return unit == prefix || strings.HasPrefix(unit, prefix+"/")
}
