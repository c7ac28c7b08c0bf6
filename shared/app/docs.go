package app

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cadre-training/cadretrain/shared/training"
)

// getDoc reads the document into v and returns its version; ENOTFOUND when absent.
func (s *Service) getDoc(ctx context.Context, kind, id string, v any) (int64, error) {
	d, err := s.Store.GetDoc(ctx, kind, id)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(d.Body, v); err != nil {
		return 0, fmt.Errorf("decode %s %s: %w", kind, id, err)
	}
	return d.Version, nil
}

// putDoc writes v as the document at expectVersion (0: create) and returns the new version.
func (s *Service) putDoc(ctx context.Context, kind, id string, v any, expectVersion int64) (int64, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("encode %s %s: %w", kind, id, err)
	}
	d, err := s.Store.PutDoc(ctx, training.Doc{Kind: kind, ID: id, Body: b}, expectVersion)
	if err != nil {
		return 0, err
	}
	return d.Version, nil
}

// listAllDocs reads every document of kind under idPrefix.
func (s *Service) listAllDocs(ctx context.Context, kind, idPrefix string) ([]training.Doc, error) {
	var out []training.Doc
	cursor := ""
	for {
		page, next, err := s.Store.ListDocs(ctx, kind, idPrefix, cursor, 500)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

const maxDocRetries = 8

// updateDoc reads the document into a fresh T, applies fn and writes it back under its version,
// again from the read when a concurrent writer won. fn returning false writes nothing.
func updateDoc[T any](ctx context.Context, s *Service, kind, id string, fn func(*T) (bool, error)) (T, error) {
	for attempt := 0; ; attempt++ {
		var v T
		ver, err := s.getDoc(ctx, kind, id, &v)
		if err != nil {
			return v, err
		}
		write, err := fn(&v)
		if err != nil || !write {
			return v, err
		}
		_, err = s.putDoc(ctx, kind, id, v, ver)
		if training.ErrorCode(err) == training.ECONFLICT && attempt < maxDocRetries {
			continue
		}
		return v, err
	}
}
