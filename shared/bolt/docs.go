package bolt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/cadre-training/cadretrain/shared/training"
	bbolt "go.etcd.io/bbolt"
)

// GetDoc returns the document, or ENOTFOUND.
func (s *Store) GetDoc(ctx context.Context, kind, id string) (training.Doc, error) {
	if err := training.CheckDocKey(kind, id); err != nil {
		return training.Doc{}, err
	}
	var d training.Doc
	var found bool
	err := s.view(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bktDocs), key(kind, id), &d)
		return err
	})
	if err != nil {
		return training.Doc{}, fmt.Errorf("getting %s %s: %w", kind, id, err)
	}
	if !found {
		return training.Doc{}, training.Errorf(training.ENOTFOUND, "%s %s not found", kind, id)
	}
	return d, nil
}

// PutDoc stores d if the stored version is expectVersion (0: absent), else ECONFLICT.
func (s *Store) PutDoc(ctx context.Context, d training.Doc, expectVersion int64) (training.Doc, error) {
	if err := training.CheckDocKey(d.Kind, d.ID); err != nil {
		return training.Doc{}, err
	}
	if !json.Valid(d.Body) {
		return training.Doc{}, training.Errorf(training.EINVALID, "document %s %s: body is not JSON", d.Kind, d.ID)
	}
	d.Version = expectVersion + 1
	var conflict error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		conflict = nil
		b := tx.Bucket(bktDocs)
		var cur training.Doc
		found, err := get(b, key(d.Kind, d.ID), &cur)
		if err != nil {
			return err
		}
		if cur.Version != expectVersion || (expectVersion != 0 && !found) {
			conflict = training.Errorf(training.ECONFLICT, "%s %s was changed concurrently (version %d, expected %d)", d.Kind, d.ID, cur.Version, expectVersion)
			return nil
		}
		return put(b, key(d.Kind, d.ID), d)
	})
	if err != nil {
		return training.Doc{}, fmt.Errorf("putting %s %s: %w", d.Kind, d.ID, err)
	}
	if conflict != nil {
		return training.Doc{}, conflict
	}
	return d, nil
}

// DeleteDoc deletes the document if its version is expectVersion; absent is a no-op.
func (s *Store) DeleteDoc(ctx context.Context, kind, id string, expectVersion int64) error {
	if err := training.CheckDocKey(kind, id); err != nil {
		return err
	}
	var conflict error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		conflict = nil
		b := tx.Bucket(bktDocs)
		var cur training.Doc
		found, err := get(b, key(kind, id), &cur)
		if err != nil || !found {
			return err
		}
		if cur.Version != expectVersion {
			conflict = training.Errorf(training.ECONFLICT, "%s %s was changed concurrently (version %d, expected %d)", kind, id, cur.Version, expectVersion)
			return nil
		}
		return b.Delete(key(kind, id))
	})
	if err != nil {
		return fmt.Errorf("deleting %s %s: %w", kind, id, err)
	}
	return conflict
}

// ListDocs returns a page of the documents of kind whose id starts with idPrefix, by id.
func (s *Store) ListDocs(ctx context.Context, kind, idPrefix, cursor string, limit int) ([]training.Doc, string, error) {
	if err := training.CheckDocKey(kind, "x"); err != nil {
		return nil, "", err
	}
	if limit <= 0 {
		limit = defaultLimit
	}
	prefix := key(kind, idPrefix)
	start := prefix
	var after []byte
	if cursor != "" {
		k, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || !bytes.HasPrefix(k, key(kind, "")) {
			return nil, "", training.Errorf(training.EINVALID, "unreadable cursor")
		}
		after = k
	}
	var out []training.Doc
	next := ""
	err := s.view(func(tx *bbolt.Tx) error {
		cur := tx.Bucket(bktDocs).Cursor()
		k, v := cur.Seek(start)
		if after != nil && bytes.Compare(after, start) >= 0 {
			k, v = cur.Seek(after)
			if bytes.Equal(k, after) {
				k, v = cur.Next()
			}
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
			if len(out) == limit {
				last := out[len(out)-1]
				next = base64.RawURLEncoding.EncodeToString(key(last.Kind, last.ID))
				return nil
			}
			var d training.Doc
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decoding document %q: %w", k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("listing %s documents: %w", kind, err)
	}
	return out, next, nil
}
