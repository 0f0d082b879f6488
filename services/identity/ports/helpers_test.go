package ports_test

import (
	"github.com/jackc/pgx/v5"

	"rollcall.dev/services/identity/app"
)

func pgxCollect(rows pgx.Rows) ([]string, error) { return pgx.CollectRows(rows, pgx.RowTo[string]) }

type appTx = app.Tx
