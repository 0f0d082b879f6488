package pgdb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// platformMigrations hold the tables every service has: the outbox and the
// inbox. Their versions are below 1000; services number theirs from 1000 up so
// the two sets interleave deterministically in one goose history.
//
//go:embed platformsql/*.sql
var platformMigrations embed.FS

// ServiceMigrationFloor is the lowest version a service's own migration may use.
const ServiceMigrationFloor = 1000

// Migrations returns the platform migrations followed by a service's own
// (the *.sql files at the root of svc). It fails if a service migration uses a
// version below ServiceMigrationFloor or a file name appears twice.
func Migrations(svc fs.FS) (fs.FS, error) {
	plat, err := fs.Sub(platformMigrations, "platformsql")
	if err != nil {
		return nil, err
	}
	u := unionFS{files: map[string]fs.FS{}}
	if err := u.add(plat, 0, ServiceMigrationFloor); err != nil {
		return nil, err
	}
	if svc != nil {
		if err := u.add(svc, ServiceMigrationFloor, 1<<62); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// Migrate applies every pending migration in fsys (see Migrations) under a
// Postgres advisory lock, so replicas starting together migrate once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, log *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	return MigrateDB(ctx, db, fsys, log)
}

// MigrateDB is Migrate over a database/sql handle (test kits use it).
func MigrateDB(ctx context.Context, db *sql.DB, fsys fs.FS, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("pgdb: migration locker: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("pgdb: migration provider: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("pgdb: migrate up: %w", err)
	}
	if log != nil {
		for _, r := range res {
			log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", path.Base(r.Source.Path), "duration", r.Duration)
		}
	}
	return nil
}

// MigrationsHash identifies a migration set by the names and contents of its
// files; test kits use it to name template databases.
func MigrationsHash(fsys fs.FS) (string, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return "", err
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// unionFS is a flat, read-only directory made of *.sql files from several
// filesystems.
type unionFS struct{ files map[string]fs.FS }

var errBadMigration = errors.New("pgdb: bad migration set")

func (u unionFS) add(src fs.FS, minVersion, maxVersion int64) error {
	names, err := fs.Glob(src, "*.sql")
	if err != nil {
		return err
	}
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", errBadMigration, n, err)
		}
		if v < minVersion || v >= maxVersion {
			return fmt.Errorf("%w: %s: version %d outside [%d, %d)", errBadMigration, n, v, minVersion, maxVersion)
		}
		if _, dup := u.files[n]; dup {
			return fmt.Errorf("%w: %s appears twice", errBadMigration, n)
		}
		u.files[n] = src
	}
	return nil
}

func (u unionFS) Open(name string) (fs.File, error) {
	if name == "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("directory listing only via ReadDir")}
	}
	src, ok := u.files[name]
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return src.Open(name)
}

func (u unionFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(u.files))
	for n, src := range u.files {
		st, err := fs.Stat(src, n)
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (u unionFS) Glob(pattern string) ([]string, error) {
	var out []string
	for n := range u.files {
		if ok, err := path.Match(pattern, n); err != nil {
			return nil, err
		} else if ok && !strings.Contains(n, "/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}
