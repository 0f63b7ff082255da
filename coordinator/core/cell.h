/*
 * cell.h — the cell a gid belongs to (cell.c).
 *
 * Past one log database dtx runs as cells: independent PostgreSQL clusters,
 * each with its own dtxd group (docs/scaling.md). A dtxd started with
 * --cell NAME makes gids "NAME:ULID", so any initiator can tell from a gid
 * which cell to send it to. Cell names are a lower-case letter and up to 15
 * more of [a-z0-9-]: they sort after every bare ULID (whose first character
 * is 0-7), so a log that gets a cell later keeps its gids in creation order,
 * and a gid with a cell stays well inside the 63 characters of a name.
 */
#ifndef DTX_COORD_CELL_H
#define DTX_COORD_CELL_H

#include <stddef.h>

#define DTX_CELL_MAX 16   /* characters of a cell name */

/* 1 when name is a valid cell name. */
int dtx_cell_valid(const char *name);

/* The cell of gid: the part before its first ':' when that part is a valid
 * cell name. Writes it to out (cap bytes, at least DTX_CELL_MAX + 1) and
 * returns its length; returns 0 (out = "") for a gid without a cell. */
size_t dtx_cell_of(const char *gid, char *out, size_t cap);

/* 1 when a node of cell (its --cell; "" or NULL: none) serves gid: a node
 * without a cell serves every gid; a node with one serves gids of its cell
 * and gids without a cell (made before the log got its cell). */
int dtx_cell_serves(const char *cell, const char *gid);

#endif
