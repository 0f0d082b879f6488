package ports_test

import "github.com/jackc/pgx/v5"

func pgxCollect(rows pgx.Rows) ([]string, error) { return pgx.CollectRows(rows, pgx.RowTo[string]) }
