/*
 * dtx.pml — a checked model of dtx's protocol: one global transaction of up
 * to NB branches, NC coordinators sharing one log, participants with the
 * idempotency barrier (TCC) or the PostgreSQL 2PC resource (-DTWOPC), a
 * network that loses, duplicates and reorders, an initiator that may
 * vanish, a forging peer, crashes, lease lapses (a paused coordinator) and
 * a deadline that passes at some point.
 *
 * What survives a crash is the log (g_*, b_*, n_*) and the participants'
 * databases (p_*); a coordinator's memory (m*) and its queue of log writes
 * (q_*) are lost. Every handler of the C code's single-threaded loop runs
 * atomically here, as a callback runs to its end there.
 *
 * verify/README.md maps every state and transition here to the C function
 * and SQL statement that implements it. Mutants (-DMUTANT_*) put back known
 * bugs; each must produce a counterexample (verify/run.sh checks it).
 *
 * -DTCCRUN: the initiator sends one TCC_RUN (docs/protocol.md §19, flag
 * bit 0: commit when every branch votes yes) to C1 instead of TRYs and a
 * COMMIT: C1 writes the global row with the preparing mark and every
 * branch row in one batch, sends the Tries, keeps the yes votes in memory
 * and writes them with the commit decision (DECIDE's mark), and answers
 * TRY_MANY_OK once every branch is answered; a coordinator that loads the
 * transaction ACTIVE with the mark decides abort at once.
 *
 * Invariants (assertions) and LTL formulas are at the end of the file and
 * inline; names: atomicity, barrier, fencing, twopc, told, votes; ltl:
 * term, told_live.
 */

#define NB 2              /* branches */
#define NC 2              /* coordinators */
#define NET 4             /* messages in flight at once (network capacity) */
#define WQ 6              /* log writes a coordinator has queued (a pipeline) */

#ifndef MAXATT
#define MAXATT 2          /* dtxd --max-attempts: Confirm/Cancel deliveries before STUCK */
#endif
#ifndef CRASHES
#define CRASHES 1         /* coordinator crashes (kill -9) */
#endif
#ifndef PAUSES
#define PAUSES 1          /* lease lapses (a coordinator paused past its lease) */
#endif
#ifndef LOSSES
#define LOSSES 1          /* messages lost */
#endif
#ifndef DUPS
#define DUPS 1            /* messages duplicated */
#endif
#ifndef FORGES
#define FORGES 1          /* replies forged by another peer */
#endif
#ifndef PRESTARTS
#define PRESTARTS 1       /* 2PC participant restarts (in-doubt resolution) */
#endif
#ifndef RESUMES
#define RESUMES 1         /* operator RESUMEs of a stuck transaction */
#endif
#ifndef FINREQS
#define FINREQS 1         /* COMMIT/ROLLBACK requests the initiator sends */
#endif
#ifndef TIMEOUTS
#define TIMEOUTS 1        /* phase timeouts while the call or its reply is still travelling */
#endif
#ifndef REFUSALS
#define REFUSALS 1        /* Try/Prepare work that votes no */
#endif
#ifndef TRIES
#define TRIES NB          /* TRY requests the initiator sends */
#endif
#ifndef SUBFAILS
#define SUBFAILS 0        /* -DTCCRUN: branches that fail before their write is submitted (ENOMEM) */
#endif

/* global states (dtx/types.h DTX_STATE_*) */
#define ACTIVE     1
#define COMMITTING 2
#define COMMITTED  3
#define ABORTING   4
#define ABORTED    5
#define STUCK      6
/* branch states (core/txn.h DTX_BRANCH_*); 0: no row */
#define TRYING    1
#define TRIED     2
#define REFUSED   3
#define CONFIRMED 4
#define CANCELLED 5
/* phase operations (DTX_OP_*) */
#define OP_TRY     1
#define OP_CONFIRM 2
#define OP_CANCEL  3
#define OP_PREPARE 4
#define OP_COMMIT  5
#define OP_ABORT   6
/* outcomes (DTX_OUTCOME_*) */
#define OK      0
#define REFUSE  1
#define FAIL    2
/* message kinds */
#define M_PHASE 1
#define M_REPLY 2
/* connections a reply can come from */
#define CONN_PART  1      /* the participant instance the PHASE went to */
#define CONN_FORGE 2      /* another peer (an initiator, another participant) */
/* initiator requests */
#define R_TRY      1
#define R_COMMIT   2
#define R_ROLLBACK 3
#define R_RESUME   4
#define R_RUN      5      /* TCC_RUN with flag bit 0 (-DTCCRUN) */
/* log writes (coordinator/log/sql.c DTX_SQL_*) */
#define W_LOAD      1     /* CLAIM + LOAD_GLOBAL + LOAD_BRANCHES (one batch) */
#define W_ORPHANS   2     /* CLAIM_ORPHANS */
#define W_ADD       3     /* BRANCH_ADD */
#define W_VOTE      4     /* BRANCH_VOTE */
#define W_DECIDE    5     /* DECIDE */
#define W_PREPARING 6     /* PREPARING */
#define W_DONE      7     /* BRANCH_DONE (lazy, fire and forget: dtx_driver_log_progress) */
#define W_FINISH    8     /* FINISH (and every branch row not final, same statement) */
#define W_STUCK     9     /* STUCK */
#define W_RESUME   10     /* RESUME */
/* queue entry states */
#define Q_QUEUED  0
#define Q_CHECKED 1       /* a branch write's fence subquery ran (its snapshot) */

#ifdef TWOPC
#define VOTE_OP    OP_PREPARE
#define COMMIT_OP  OP_COMMIT
#define ABORT_OP   OP_ABORT
#else
#define VOTE_OP    OP_TRY
#define COMMIT_OP  OP_CONFIRM
#define ABORT_OP   OP_CANCEL
#endif

#define BI(i, b) ((i) * NB + (b))
#define QI(i, k) ((i) * WQ + (k))

/* ---------------- the log (PostgreSQL: survives everything) ---------------- */
byte g_state = ACTIVE;    /* dtx_global.state */
byte g_dec = 0;           /* dtx_global.decision */
bit  g_prep = 0;          /* dtx_global.preparing */
byte g_nb = 0;            /* dtx_global.branches */
byte g_owner = 1;         /* dtx_global.owner: node 1 began it */
byte g_oep = 1;           /* dtx_global.owner_epoch */
byte g_gen = 0;           /* dtx_global.owner_gen */
byte b_state[NB];         /* dtx_branch_now.state (0: no row) */
byte n_epoch[NC];         /* dtx_node.epoch */
bit  n_lease[NC];         /* dtx_node.lease_until > now() */

/* ---------------- participants' databases ---------------- */
byte p_tryrow[NB];        /* dtx_barrier (try, origin): 0 none, 1 'try', 2 'cancel' */
bit  p_confrow[NB];       /* dtx_barrier (confirm, confirm) */
bit  p_cancrow[NB];       /* dtx_barrier (cancel, cancel) */
byte e_try[NB];           /* business effects applied: Try (2PC: work committed) */
byte e_conf[NB];          /* Confirm (2PC: COMMIT PREPARED) */
byte e_canc[NB];          /* Cancel ran, or null compensation (2PC: abort recorded) */
bit  p_prep[NB];          /* 2PC: 'dtx:gid:b' in pg_prepared_xacts */

/* ---------------- the network: a bag (reorder) ---------------- */
byte m_kind[NET];
byte m_node[NET];         /* coordinator that sent the PHASE / the reply goes to */
byte m_br[NET];
byte m_op[NET];
byte m_att[NET];
byte m_out[NET];
byte m_conn[NET];
bit  m_orph[NET];         /* sent by a copy no longer in memory: its corr matches nothing */

/* ---------------- coordinators' memory (lost on crash) ---------------- */
bit  has[NC];             /* a copy of the transaction is in memory */
bit  own[NC];             /* txn->owned */
bit  loading[NC];         /* txn->loading */
bit  writing[NC];         /* txn->writing (a global-state write in flight) */
bit  finishing[NC];       /* txn->finishing */
bit  mprep[NC];           /* txn->preparing */
bit  dwait[NC];           /* txn->has_decision_waiter */
byte dwtype[NC];          /* its request: R_COMMIT / R_ROLLBACK */
bit  dwre[NC];            /* txn->decision_waiter_reloaded: it is a rerun already */
byte ms[NC];              /* txn->state */
byte mdec[NC];            /* txn->decision */
byte mgen[NC];            /* txn->gen: owner_gen it was loaded with */
byte mnb[NC];             /* txn->nbranches */
byte mpend[NC];           /* txn->pending_branches */
byte mbs[NC * NB];        /* br->state */
byte mop[NC * NB];        /* br->op */
byte matt[NC * NB];       /* br->attempt */
bit  munk[NC * NB];       /* br->unknown_vote */
bit  minfl[NC * NB];      /* br->inflight */
bit  mbw[NC * NB];        /* br->writing */
bit  mack[NC * NB];       /* br->ack_unlogged: final here, not written yet */
bit  mnever[NC * NB];     /* br->never_sent */
bit  mtw[NC * NB];        /* br->has_waiter (an initiator awaits the vote) */

/* queued log writes, a FIFO per coordinator; [0, q_landed) ran in the DB */
byte q_len[NC];
byte q_landed[NC];
byte q_k[NC * WQ];
byte q_b[NC * WQ];
byte q_v[NC * WQ];        /* new state / vote / target / steal */
byte q_x[NC * WQ];        /* expected state / branch count */
byte q_g[NC * WQ];        /* owner_gen of the writer's copy */
byte q_st[NC * WQ];
byte q_r[NC * WQ];        /* result: rows (or branch_no) */
bit  q_orph[NC * WQ];     /* its transaction left memory: callback dropped */

bit  scan[NC];            /* co->scan_inflight: a CLAIM_ORPHANS scan is queued */
byte req[NC];             /* request waiting at a coordinator (parked), 0 none */
bit  reqre[NC];            /* it is a TRY run again after a failed write (dtx_initiator_rerun: once) */

/* ---------------- what the world saw ---------------- */
bit  deadline = 0;        /* the transaction's deadline has passed */
bit  told_commit = 0;     /* the initiator was answered committing/committed */
bit  told_abort = 0;
/* -DTCCRUN: the TCC_RUN's collector at C1 (initiator_multi.c s_multi_t):
 * answers still due (one per branch), whether one had an outcome (a
 * TRY_OK), the state the last TRY_OK gave (m->seen); what the TRY_MANY_OK
 * said (0: none, or an ERROR) */
byte rdue = 0;
bit  rran = 0;
byte subfails = 0;        /* -DSUBFAILS: spent */
byte rst = 0;
byte run_told = 0;
byte timeouts = 0, refusals = 0, crashes = 0, pauses = 0, losses = 0, dups = 0, forges = 0, prestarts = 0, resumes = 0;

/* Faults stop (LTL runs): every fault — a crash, a lease lapse, a message
 * lost, duplicated or forged, an early phase timeout, a participant
 * restart — happens only while `faulty` is set, and init clears it at a
 * point of its choosing. Weak fairness makes init take that step in
 * every fair run (it is always enabled), so every fair run has a point
 * after which no fault happens; before it, a fault of budget UNBOUNDED
 * (-DLOSSES=255, ...) happens any number of times, other budgets as many
 * times as they say (init, at its end). Safety runs keep `faulty` set: stopping is one of
 * the behaviours not acting already covers. Refusals (the business says
 * no) and the operator's RESUME are not faults. */
#define UNBOUNDED 255
bit  faulty = 1;
#define BUDGET(n, N)    (faulty && ((N) == UNBOUNDED || (n) < (N)))
#define SPEND(n, N)     if :: (N) != UNBOUNDED -> n++ :: else -> skip fi

/* ---------------- helpers ---------------- */

#define IS_FINAL(s)     ((s) == COMMITTED || (s) == ABORTED)
#define IS_DECISION(s)  ((s) == COMMITTING || (s) == ABORTING)
#define BR_FINAL(s)     ((s) == CONFIRMED || (s) == CANCELLED)
#define DONE_STATE(op)  (((op) == OP_CONFIRM || (op) == OP_COMMIT) -> CONFIRMED : CANCELLED)
#define OP_FOR(s)       (((s) == COMMITTING) -> COMMIT_OP : ABORT_OP)
#define LOG_COMMIT      (g_dec == COMMITTING)
/* the node the log names as owner is dead: no live lease for (owner, owner_epoch) */
#define OWNER_DEAD      (n_lease[g_owner - 1] == 0 || n_epoch[g_owner - 1] != g_oep)

/* Fencing as sql.c writes it: owner = me AND owner_epoch = my epoch AND
 * owner_gen = the gen my copy was loaded with. MUTANT_ABA drops owner_gen
 * (the code before sql/coordinator/007_owner_gen.sql). */
#if defined(MUTANT_NOFENCE)
#define FENCE(i, k)     1       /* BUG: writes check no ownership at all */
#elif defined(MUTANT_ABA)
#define FENCE(i, k)     (g_owner == (i) + 1 && g_oep == n_epoch[i])
#else
#define FENCE(i, k)     (g_owner == (i) + 1 && g_oep == n_epoch[i] && g_gen == q_g[QI(i, k)])
#endif
/* DECIDE's branches = $8: the decision names every branch its writer
 * knows. MUTANT_NOCOUNT drops it. */
#ifdef MUTANT_NOCOUNT
#define COUNT_OK(k)     1
#else
#define COUNT_OK(k)     (g_nb == q_x[QI(i, k)])
#endif
/* A branch's Confirm/Commit ran at its participant (commit), or its
 * Cancel/Abort ran or it has no Try/Prepare effect to undo (abort). */
#define DONE_AT_PART(b, fin) ((fin) == COMMITTED -> e_conf[b] == 1 : (e_canc[b] == 1 || e_try[b] == 0))
/* FINISH's CTE b: every branch row not final gets the decision's final
 * state. MUTANT_FINISHWRONG marks them confirmed whatever the decision. */
#ifdef MUTANT_FINISHWRONG
#define FINISH_STATE(fin) CONFIRMED         /* BUG: confirmed, also on abort */
#else
#define FINISH_STATE(fin) (((fin) == COMMITTED) -> CONFIRMED : CANCELLED)
#endif
#define FINISH_MARK(fin) \
    c = 0; \
    do \
    :: c < g_nb -> \
        if \
        :: !BR_FINAL(b_state[c]) -> assert(DONE_AT_PART(c, fin)); b_state[c] = FINISH_STATE(fin) \
        :: else -> skip \
        fi; \
        c++ \
    :: else -> break \
    od; \
    c = 0
/* The fencing property, in ground terms: the copy the write comes from was
 * loaded under the ownership that holds now (every claim starts a new one). */
#define FENCING_OK(i, k) (g_owner == (i) + 1 && g_oep == n_epoch[i] && g_gen == q_g[QI(i, k)])

inline submit(i, kind, b, v, x)
{
    assert(q_len[i] < WQ);
    q_k[QI(i, q_len[i])] = kind;
    q_b[QI(i, q_len[i])] = b;
    q_v[QI(i, q_len[i])] = v;
    q_x[QI(i, q_len[i])] = x;
    q_g[QI(i, q_len[i])] = mgen[i];
    q_st[QI(i, q_len[i])] = Q_QUEUED;
    q_r[QI(i, q_len[i])] = 0;
    q_orph[QI(i, q_len[i])] = 0;
    q_len[i]++
}

/* Removes the head entry (its callback ran). */
inline q_pop(i)
{
    k = 0;
    do
    :: k + 1 < q_len[i] ->
        q_k[QI(i, k)] = q_k[QI(i, k + 1)]; q_b[QI(i, k)] = q_b[QI(i, k + 1)];
        q_v[QI(i, k)] = q_v[QI(i, k + 1)]; q_x[QI(i, k)] = q_x[QI(i, k + 1)];
        q_g[QI(i, k)] = q_g[QI(i, k + 1)]; q_st[QI(i, k)] = q_st[QI(i, k + 1)];
        q_r[QI(i, k)] = q_r[QI(i, k + 1)]; q_orph[QI(i, k)] = q_orph[QI(i, k + 1)];
        k++
    :: else -> break
    od;
    q_len[i]--; q_landed[i]--;
    q_k[QI(i, q_len[i])] = 0; q_b[QI(i, q_len[i])] = 0; q_v[QI(i, q_len[i])] = 0;
    q_x[QI(i, q_len[i])] = 0; q_g[QI(i, q_len[i])] = 0; q_st[QI(i, q_len[i])] = 0;
    q_r[QI(i, q_len[i])] = 0; q_orph[QI(i, q_len[i])] = 0;
    k = 0
}

inline net_free_slot(s)
{
    if
    :: m_kind[0] == 0 -> s = 0
    :: else -> if
        :: m_kind[1] == 0 -> s = 1
        :: else -> if
            :: m_kind[2] == 0 -> s = 2
            :: else -> if
                :: m_kind[3] == 0 -> s = 3
                :: else -> s = NET
                fi
            fi
        fi
    fi
}

inline net_clear(s)
{
    m_kind[s] = 0; m_node[s] = 0; m_br[s] = 0; m_op[s] = 0; m_att[s] = 0;
    m_out[s] = 0; m_conn[s] = 0; m_orph[s] = 0
}

/* What the initiator hears as STATE (dtx_outbox_state). */
inline tell_state(st, dc)
{
    if
    :: st == COMMITTING || st == COMMITTED || (st == STUCK && dc == COMMITTING) ->
        assert(LOG_COMMIT);               /* told: only once the decision is durable */
        told_commit = 1
    :: st == ABORTING || st == ABORTED || (st == STUCK && dc == ABORTING) ->
        assert(g_dec == ABORTING);
        told_abort = 1
    :: else -> skip
    fi
}

#ifdef TCCRUN
/* One branch of the TCC_RUN answered (co->hooks.multi_reply, s_on_reply):
 * ok = a TRY_OK (an outcome), else an ERROR. The last one sends the
 * answer (s_finish): TRY_MANY_OK with the state of the transaction in
 * memory (or the last TRY_OK's), or one ERROR when no branch had an
 * outcome. With flag bit 0 the answer carries the decision (§19 step 4),
 * and committing only once the commit decision is durable. */
inline run_answer(ok, st)
{
    if
    :: rdue > 0 ->
        rdue--;
        if :: ok -> rran = 1; rst = st :: else -> skip fi;
        if
        :: rdue == 0 && rran && has[0] ->   /* the state of the transaction in memory */
            assert(ms[0] != ACTIVE);         /* RUN_DECIDED: the answer carries the decision */
            tell_state(ms[0], mdec[0]);
            run_told = ms[0]
        :: rdue == 0 && rran && !has[0] ->  /* the last TRY_OK's */
            assert(rst != ACTIVE);
            tell_state(rst, rst);
            run_told = rst
        :: rdue == 0 && !rran -> run_told = 255  /* one ERROR */
        :: else -> skip
        fi
    :: else -> skip
    fi
}
#endif

/* The copy of node i leaves memory (dtx_initiator_forget / outbox_drop):
 * what it queued still runs in the database but its callbacks are dropped;
 * replies to its calls match nothing (their corr was this copy's); a
 * COMMIT/ROLLBACK that waited on its decision runs again on a fresh load. */
inline drop_copy(i)
{
#ifdef TCCRUN
    /* dtx_outbox_drop: every waiting branch of the TCC_RUN is answered
     * ERROR 20 (its outcome is not known here) */
    k = 0;
    do
    :: k < NB -> if :: mtw[BI(i, k)] -> mtw[BI(i, k)] = 0; run_answer(0, 0) :: else -> skip fi; k++
    :: else -> break
    od;
#endif
    k = 0;
    do
    :: k < q_len[i] ->                  /* the scan's callback is no copy's */
        if :: q_k[QI(i, k)] != W_ORPHANS -> q_orph[QI(i, k)] = 1 :: else -> skip fi; k++
    :: else -> break
    od;
    k = 0;
    do
    :: k < NET ->
        if
        :: m_kind[k] == M_REPLY && m_node[k] == i -> net_clear(k)
        :: m_kind[k] == M_PHASE && m_node[k] == i -> m_orph[k] = 1
        :: else -> skip
        fi;
        k++
    :: else -> break
    od;
    k = 0;
    /* dtx_initiator_rerun: what waited runs again on a fresh load, once; the decision
     * waiter first (a parked request behind it is answered an error) */
    if
#ifdef MUTANT_PINGPONG
    :: dwait[i] -> req[i] = dwtype[i]; reqre[i] = 1   /* BUG: the rerun flag is lost: ping-pong */
#else
    :: dwait[i] && !dwre[i] -> req[i] = dwtype[i]; reqre[i] = 1
    :: dwait[i] && dwre[i] -> req[i] = 0; reqre[i] = 0  /* run again once already: DTX_EUNKNOWN */
#endif
    :: !dwait[i] && req[i] != 0 && reqre[i] -> req[i] = 0; reqre[i] = 0
    :: !dwait[i] && req[i] != 0 && !reqre[i] -> reqre[i] = 1
    :: else -> skip
    fi;
    has[i] = 0; own[i] = 0; loading[i] = 0; writing[i] = 0; finishing[i] = 0;
    mprep[i] = 0; dwait[i] = 0; dwtype[i] = 0; dwre[i] = 0; ms[i] = 0; mdec[i] = 0; mgen[i] = 0;
    mnb[i] = 0; mpend[i] = 0;
    k = 0;
    do
    :: k < NB ->
        mbs[BI(i, k)] = 0; mop[BI(i, k)] = 0; matt[BI(i, k)] = 0; munk[BI(i, k)] = 0;
        minfl[BI(i, k)] = 0; mbw[BI(i, k)] = 0; mnever[BI(i, k)] = 0; mtw[BI(i, k)] = 0;
        mack[BI(i, k)] = 0;
        k++
    :: else -> break
    od;
    k = 0
}

/* ---------------- the coordinator's driver (engine/driver.c) ---------------- */

/* dtx_driver_decide: the decision goes to the log first. */
inline decide(i, d)
{
    if
    :: !writing[i] && ms[i] == ACTIVE ->
        writing[i] = 1;
        /* $6, the mark: a 2PC commit, or a TCC_RUN's (preparing): the yes
         * votes kept in memory are written with the decision */
#ifdef MUTANT_RUNNOVOTES
        submit(i, W_DECIDE, (VOTE_OP == OP_PREPARE && d == COMMITTING), d, mnb[i]);  /* BUG: a TCC_RUN's votes not written */
#else
        submit(i, W_DECIDE, ((VOTE_OP == OP_PREPARE || mprep[i]) && d == COMMITTING), d, mnb[i]);
#endif
#ifdef MUTANT_EARLYCONFIRM
        /* BUG: Confirm leaves before the decision is durable */
        if
        :: d == COMMITTING ->
            e = 0;
            do
            :: e < mnb[i] ->
                net_free_slot(s);
                if
                :: s < NET -> m_kind[s] = M_PHASE; m_node[s] = i; m_br[s] = e;
                    m_op[s] = COMMIT_OP; m_att[s] = 1; m_conn[s] = CONN_PART
                :: else -> skip
                fi;
                s = 0; e++
            :: else -> break
            od;
            e = 0
        :: else -> skip
        fi
#endif
    :: else -> skip
    fi
}

/* dtx_txn_votes + dtx_txn_next for DTX_EV_COMMIT, ACTIVE: *nx = next or 0 busy */
inline commit_next(i, nx)
{
    nx = COMMITTING;
    b = 0;
    do
    :: b < mnb[i] ->
        if
        :: munk[BI(i, b)] -> if :: nx != 0 -> nx = ABORTING :: else -> skip fi
        :: !munk[BI(i, b)] && mbs[BI(i, b)] == TRYING && VOTE_OP == OP_TRY -> nx = 0; break
        :: !munk[BI(i, b)] && mbs[BI(i, b)] == REFUSED -> nx = ABORTING
        :: else -> skip
        fi;
        b++
    :: else -> break
    od;
    b = 0
}

/* dtx_driver_raise for TRY_REFUSED / DEADLINE / PREPARE_LOST: abort while ACTIVE */
inline raise_abort(i)
{
    if
    :: ms[i] == ACTIVE -> decide(i, ABORTING)
    :: else -> skip
    fi
}

/* s_send_phase: PHASE to the instance of the branch's resource. A full
 * queue is a failed send (ZMQ_ROUTER_MANDATORY / high-water mark). */
inline send_phase(i, sb)
{
    net_free_slot(s);
    matt[BI(i, sb)]++;
    if
    :: s < NET ->
        m_kind[s] = M_PHASE; m_node[s] = i; m_br[s] = sb; m_op[s] = mop[BI(i, sb)];
        m_att[s] = matt[BI(i, sb)]; m_conn[s] = CONN_PART;
        mnever[BI(i, sb)] = 0;
        minfl[BI(i, sb)] = 1
    :: else ->
        phase_failed(i, sb)
    fi;
    s = 0
}

/* s_phase_failed (vote ops: dtx_driver_try_refused; others retried, STUCK at the budget) */
inline phase_failed(i, fb)
{
    minfl[BI(i, fb)] = 0;
    if
    :: mop[BI(i, fb)] == OP_TRY || mop[BI(i, fb)] == OP_PREPARE ->
        try_refused(i, fb)
    :: else ->
        log_progress(i);                    /* a retry: the log shows what is done */
        if
        :: matt[BI(i, fb)] >= MAXATT && !writing[i] && !finishing[i] ->
            writing[i] = 1;                 /* dtx_driver_mark_stuck */
            submit(i, W_STUCK, 0, ms[i], 0)
        :: else -> skip
        fi
    fi
}

/* dtx_driver_try_refused: the no vote and the abort decision, one batch */
inline try_refused(i, tb)
{
    mbs[BI(i, tb)] = REFUSED;
    mbw[BI(i, tb)] = 1;
    submit(i, W_VOTE, tb, REFUSED, 0);
    raise_abort(i)
}

/* dtx_driver_check_done: every branch acknowledged (in memory: the
 * acknowledgements need not be in the log) — the final write, which also
 * writes every branch row final. This check is the only thing that keeps
 * FINISH after the acknowledgements: FINISH's SQL no longer looks at the
 * branch rows (it marks them). */
inline check_done(i)
{
    if
    :: has[i] && !writing[i] && !finishing[i] && !loading[i] && IS_DECISION(ms[i]) ->
        b = 0;
        do
#ifdef MUTANT_EARLYFINISH
        :: b < mnb[i] -> b++                /* BUG: finishes without waiting for the acknowledgements */
#else
        :: b < mnb[i] && BR_FINAL(mbs[BI(i, b)]) && !mbw[BI(i, b)] -> b++
#endif
        :: else -> break
        od;
        if
        :: b == mnb[i] ->
            finishing[i] = 1;
            submit(i, W_FINISH, 0, (ms[i] == COMMITTING -> COMMITTED : ABORTED), ms[i])
        :: else -> skip
        fi;
        b = 0
    :: else -> skip
    fi
}

/* dtx_driver_log_progress: the acknowledgements only memory knows, written
 * now, one BRANCH_DONE each, fire and forget (lost in a crash, failed or
 * fenced off: nothing happens). Called on a retry (phase_failed, so also
 * before STUCK), when a retried call is acknowledged, and by the
 * Coordinator's `progress` step while another branch is still to come
 * (the timer; verify/README.md says why the timer and dtxd stopping once
 * every branch is final are left out). */
inline log_progress(i)
{
    if
    :: has[i] && own[i] && !loading[i] ->
        e = 0;
        do
        :: e < NB ->
            if
            :: mack[BI(i, e)] && BR_FINAL(mbs[BI(i, e)]) ->
                mack[BI(i, e)] = 0;
                submit(i, W_DONE, e, mbs[BI(i, e)], 0)
            :: else -> skip
            fi;
            e++
        :: else -> break
        od;
        e = 0
    :: else -> skip
    fi
}

/* dtx_driver_branch_acked: a Confirm/Cancel acknowledged. Final in memory at
 * once (ack_unlogged), not written on its own: FINISH writes it. */
inline branch_acked(i, ab)
{
    mbs[BI(i, ab)] = DONE_STATE(mop[BI(i, ab)]);
    mack[BI(i, ab)] = 1;
    if
    :: matt[BI(i, ab)] > 1 -> log_progress(i)   /* retried: its attempt count is kept */
    :: else -> skip
    fi;
    check_done(i)
}

/* dtx_driver_drive: Confirm/Cancel every branch not yet done */
inline drive(i)
{
    if
    :: has[i] && IS_DECISION(ms[i]) ->
        c = 0;
        do
        :: c < mnb[i] ->
            if
            :: BR_FINAL(mbs[BI(i, c)]) || mbw[BI(i, c)] -> skip
            :: else ->
                if
                :: mop[BI(i, c)] != OP_FOR(ms[i]) ->
                    mop[BI(i, c)] = OP_FOR(ms[i]); matt[BI(i, c)] = 0; minfl[BI(i, c)] = 0
                :: else -> skip
                fi;
                if
                :: ms[i] == ABORTING && mnever[BI(i, c)] && mbs[BI(i, c)] != TRIED ->
                    branch_acked(i, c)      /* its Try never left: nothing to undo */
                :: else ->
                    if
                    :: !minfl[BI(i, c)] -> send_phase(i, c)
                    :: else -> skip
                    fi
                fi
            fi;
            c++
        :: else -> break
        od;
        c = 0;
        check_done(i)
    :: else -> skip
    fi
}

/* dtx_driver_prepared_check: every branch prepared: decide commit */
inline prepared_check(i)
{
    if
    :: mprep[i] && !writing[i] && ms[i] == ACTIVE && (VOTE_OP == OP_PREPARE || mpend[i] == 0) ->
        b = 0;
        do
        :: b < mnb[i] && mbs[BI(i, b)] == TRIED -> b++
        :: else -> break
        od;
        if
#ifndef MUTANT_RUNPARTIAL
        /* a TCC_RUN whose batch is not whole in the transaction (a branch
         * refused before its write) aborts: driver.c's run_branches check */
        :: b == mnb[i] && VOTE_OP == OP_TRY && mnb[i] < TRIES -> b = 0; decide(i, ABORTING)
        :: b == mnb[i] && !(VOTE_OP == OP_TRY && mnb[i] < TRIES) -> b = 0; decide(i, COMMITTING);
#else
        /* BUG (the code before that check, the finding of ver31): the
         * recorded branches all yes commit, whole batch or not */
        :: b == mnb[i] -> b = 0; decide(i, COMMITTING);
#endif
#ifdef MUTANT_RUNEARLYANSWER
            /* BUG: the TCC_RUN answered "committing" when the commit
             * decision is submitted, not once it is durable */
            b = 0;
            do
            :: b < NB -> mtw[BI(i, b)] = 0; b++
            :: else -> break
            od;
            b = 0;
            rdue = 0; rran = 1;
            tell_state(COMMITTING, COMMITTING);
            run_told = COMMITTING;
#endif
            skip
        :: else -> b = 0
        fi
    :: else -> skip
    fi
}

/* dtx_driver_start_prepare */
inline start_prepare(i)
{
    submit(i, W_PREPARING, 0, 0, 0);
    mprep[i] = 1;
    c = 0;
    do
    :: c < mnb[i] && mprep[i] ->
        mop[BI(i, c)] = OP_PREPARE; matt[BI(i, c)] = 0;
        send_phase(i, c);
        c++
    :: else -> break
    od;
    c = 0;
    prepared_check(i)
}

/* ---------------- requests (engine/initiator.c) ---------------- */

/* dtx_initiator_decide_request */
inline decide_request(i, r)
{
    nx = 0;
    if
    :: r == R_COMMIT ->
        if
        :: ms[i] == ACTIVE -> commit_next(i, nx)
        :: ms[i] == COMMITTING || ms[i] == COMMITTED -> nx = ms[i]
        :: ms[i] == ABORTING || ms[i] == ABORTED -> tell_state(ms[i], mdec[i]); nx = 255
        :: else -> nx = 255                /* ESTATE */
        fi
    :: else ->
        if
        :: ms[i] == ACTIVE -> nx = ABORTING
        :: ms[i] == ABORTING || ms[i] == ABORTED -> nx = ms[i]
        :: ms[i] == STUCK && mdec[i] == ABORTING -> nx = ms[i]
        :: else -> nx = 255
        fi
    fi;
    if
    :: nx == 0 || nx == 255 -> skip        /* EBUSY / refused: answered an error */
    :: nx == ms[i] -> tell_state(ms[i], mdec[i])
    :: else ->
        if
        :: !own[i] -> skip                 /* driven by another coordinator */
        :: else ->
            dwait[i] = 1; dwtype[i] = r; dwre[i] = rre;   /* = req->reloaded */
#ifdef TWOPC
            if
            :: nx == COMMITTING -> start_prepare(i)
            :: else -> decide(i, nx)
            fi
#else
            decide(i, nx)
#endif
        fi
    fi;
    nx = 0
}

/* dtx_initiator_try */
inline try_request(i)
{
    if
    :: deadline && !(ms[i] == COMMITTING || ms[i] == COMMITTED ||
                     (ms[i] == STUCK && mdec[i] == COMMITTING)) -> skip   /* EEXPIRED */
    :: else ->
        if
        :: ms[i] == ACTIVE && own[i] && mnb[i] + mpend[i] < NB ->
            mpend[i]++;
            submit(i, W_ADD, 0, 0, rre)     /* q_x: the request was run again already */
        :: else -> skip                     /* not active / not ours / limit */
        fi
    fi
}

/* dtx_initiator_resume_request */
inline resume_request(i)
{
    if
    :: ms[i] == STUCK && own[i] -> writing[i] = 1; submit(i, W_RESUME, 0, 0, 0)
    :: ms[i] != STUCK -> tell_state(ms[i], mdec[i])
    :: else -> skip
    fi
}

#ifdef TCCRUN
/* dtx_multi_tcc_run: BEGIN's checks (dtx_initiator_open: a new copy, ours,
 * ACTIVE), the preparing mark (flag bit 0), and the batch as a TRY_MANY:
 * every branch's write submitted in one turn (the first one, BRANCH_FIRST,
 * creates the global row with the mark), no Try before its write landed */
inline start_run(i)
{
    req[i] = 0; reqre[i] = 0;
    assert(!has[i]);
    has[i] = 1; own[i] = 1; ms[i] = ACTIVE; mgen[i] = 0; mprep[i] = 1;
    rdue = TRIES;
    /* -DSUBFAILS=1: one branch's sub-request fails after the batch's
     * checks passed and before its write is submitted (the code before the
     * batch became one statement: s_try_many's calloc of the sub-request
     * or of its payload; dtx_initiator_try: dtx_wctx_get) — answered ERROR
     * 4 (ENOMEM) at once, the others go on. The code now refuses the whole
     * batch then (initiator_multi.c s_run), nothing written: a request
     * never sent, as the model has it; this keeps the driver's guard
     * checked (verify/README.md) */
    c = 255;
    if
    :: subfails < SUBFAILS -> subfails++;
        if :: c = 0 :: TRIES > 1 -> c = 1 fi
    :: true -> skip
    fi;
    e = 1;                                  /* txn->unlogged: the next write is BRANCH_FIRST */
    b = 0;
    do
    :: b < TRIES && b == c -> run_answer(0, 0); b++
    :: b < TRIES && b != c -> mpend[i]++; submit(i, W_ADD, e, 0, 1); e = 0; b++
    :: else -> break
    od;
    b = 0; c = 0;
    if
    :: e -> drop_copy(i)                    /* nothing submitted: nothing kept */
    :: else -> skip
    fi;
    e = 0
}
#endif

inline run_request(i)
{
    r = req[i];
    rre = reqre[i];
    req[i] = 0; reqre[i] = 0;
    if
    :: r == R_TRY -> try_request(i)
    :: r == R_COMMIT || r == R_ROLLBACK -> decide_request(i, r)
    :: r == R_RESUME -> resume_request(i)
    fi;
    r = 0; rre = 0
}

/* ---------------- callbacks of log writes ---------------- */

/* s_on_branches: the load is complete */
inline on_loaded(i)
{
    loading[i] = 0;
    if
    :: ms[i] == 0 ->                        /* no row (TCCRUN: not written yet): ENOTFOUND */
        req[i] = 0; reqre[i] = 0;
        drop_copy(i)
    :: ms[i] != 0 && (IS_FINAL(ms[i]) || !own[i] || ms[i] == STUCK) ->
        if
        :: req[i] != 0 -> run_request(i)
        :: else -> skip
        fi;
        if
        :: !writing[i] -> drop_copy(i)
        :: else -> skip
        fi
    :: else ->
        if
        :: IS_DECISION(ms[i]) -> drive(i)
        :: ms[i] == ACTIVE && deadline -> raise_abort(i)
#ifdef MUTANT_RUNRECOVERCOMMIT
        /* BUG: a TCC transaction loaded ACTIVE with the mark is taken as
         * "every branch voted yes" and decided commit */
        :: ms[i] == ACTIVE && !deadline && mprep[i] && VOTE_OP == OP_TRY ->
            b = 0;
            do
            :: b < mnb[i] -> mbs[BI(i, b)] = TRIED; munk[BI(i, b)] = 0; b++
            :: else -> break
            od;
            b = 0;
            decide(i, COMMITTING)
        :: ms[i] == ACTIVE && !deadline && mprep[i] && VOTE_OP != OP_TRY -> raise_abort(i)
#else
        :: ms[i] == ACTIVE && !deadline && mprep[i] -> raise_abort(i)   /* PREPARE_LOST */
#endif
        :: else -> skip
        fi
    fi
}

inline callback(i)
{
    k = 0;
    ro = q_orph[QI(i, 0)];
    rk = q_k[QI(i, 0)]; rb = q_b[QI(i, 0)]; rv = q_v[QI(i, 0)]; rr = q_r[QI(i, 0)];
    rx = q_x[QI(i, 0)];
    q_pop(i);
    if
    :: ro ->                               /* dtx_wctx_take fails: txn left memory */
#ifdef TCCRUN
        if :: rk == W_ADD -> run_answer(0, 0) :: else -> skip fi;   /* initiator_try.c s_on_branch_write: ERROR */
#endif
        skip
    :: else ->
        if
        :: rk == W_LOAD -> on_loaded(i)
        :: rk == W_ORPHANS ->               /* s_on_orphans */
            scan[i] = 0;
            if
            :: rr != 0 && has[i] && !loading[i] ->
#ifdef MUTANT_ABA
                skip    /* BUG: the copy held from before is kept and driven */
#else
                drop_copy(i)   /* s_load_listed: the old copy is worthless */
#endif
            :: else -> skip
            fi;
            if
            :: rr != 0 && !has[i] ->
                has[i] = 1; loading[i] = 1; submit(i, W_LOAD, 0, 0, 0)
            :: else -> skip
            fi
        :: rk == W_ADD ->                   /* initiator_try.c s_on_branch_write */
            mpend[i]--;
            if
            :: rr == 0 -> drop_copy(i);
#ifdef TCCRUN
                run_answer(0, 0)   /* its rerun (dtx_initiator_rerun) can only end in an ERROR: verify/README.md */
#else
                if :: req[i] == 0 && !rx -> req[i] = R_TRY; reqre[i] = 1 :: else -> skip fi
#endif
            :: else ->
                b = rr - 1;
                if :: mnb[i] < rr -> mnb[i] = rr :: else -> skip fi;
                mbs[BI(i, b)] = TRYING; mnever[BI(i, b)] = 1;
                if
                :: ms[i] != ACTIVE -> drive(i);
#ifdef TCCRUN
                    run_answer(0, 0);       /* ERROR 7: decided meanwhile */
#endif
                    skip
                :: else ->
#ifdef TWOPC
                    mop[BI(i, b)] = OP_PREPARE      /* enlisted: TRY_OK */
#else
                    mtw[BI(i, b)] = 1;
                    mop[BI(i, b)] = OP_TRY; matt[BI(i, b)] = 0;
                    send_phase(i, b)
#endif
                fi;
                b = 0
            fi
        :: rk == W_VOTE ->                  /* s_on_vote */
            mbw[BI(i, rb)] = 0;
            if
            :: rr == 0 -> drop_copy(i)
            :: else ->
                if
                :: rv == TRIED && mbs[BI(i, rb)] == TRYING -> mbs[BI(i, rb)] = TRIED
                :: else -> skip
                fi;
                if
                :: ms[i] != ACTIVE -> drive(i)
#ifdef TCCRUN
                :: else -> if :: rv == TRIED -> mtw[BI(i, rb)] = 0 :: else -> skip fi   /* a no vote: the decision answers */
#else
                :: else -> mtw[BI(i, rb)] = 0   /* TRY_OK to the waiter */
#endif
                fi
            fi
        :: rk == W_DECIDE ->                /* s_on_decide */
            writing[i] = 0;
            if
            :: rr == 0 -> drop_copy(i)
            :: else ->
                ms[i] = rv; mdec[i] = rv; mprep[i] = 0;
                if
                :: VOTE_OP == OP_PREPARE && rv == COMMITTING ->
                    b = 0;
                    do
                    :: b < mnb[i] -> if :: mbs[BI(i, b)] == TRYING -> mbs[BI(i, b)] = TRIED
                                        :: else -> skip fi; b++
                    :: else -> break
                    od;
                    b = 0
                :: else -> skip
                fi;
                if
                :: dwait[i] -> dwait[i] = 0; dwtype[i] = 0; dwre[i] = 0; tell_state(ms[i], mdec[i]);
                :: else -> skip
                fi;
                b = 0;
                do
#ifdef TCCRUN
                /* each waiting branch: TRY_OK (yes, or refused after its
                 * call), or an ERROR (still trying; no live instance) */
                :: b < NB && mtw[BI(i, b)] -> mtw[BI(i, b)] = 0;
                    run_answer(mbs[BI(i, b)] == TRIED || (mbs[BI(i, b)] == REFUSED && !mnever[BI(i, b)]), ms[i]);
                    b++
                :: b < NB && !mtw[BI(i, b)] -> b++
#else
                :: b < NB -> mtw[BI(i, b)] = 0; b++
#endif
                :: else -> break
                od;
                b = 0;
                drive(i)
            fi
        :: rk == W_PREPARING -> skip        /* fire and forget */
        :: rk == W_DONE -> skip             /* s_on_bookkeeping: its outcome is ignored */
        :: rk == W_FINISH ->                /* s_on_finish: leaves memory either way */
            finishing[i] = 0;
            if
            :: rr != 0 -> ms[i] = rv
            :: else -> skip
            fi;
            drop_copy(i)
        :: rk == W_STUCK ->                 /* s_on_stuck */
            writing[i] = 0;
            drop_copy(i)
        :: rk == W_RESUME ->                /* s_on_resume */
            writing[i] = 0;
            if
            :: rr == 0 -> drop_copy(i)
            :: else ->
                ms[i] = rr; tell_state(ms[i], mdec[i]);
                b = 0;
                do
                :: b < mnb[i] -> mop[BI(i, b)] = OP_FOR(ms[i]); matt[BI(i, b)] = 0;
                    minfl[BI(i, b)] = 0; b++
                :: else -> break
                od;
                b = 0;
                drive(i)
            fi
        fi
    fi;
    ro = 0; rk = 0; rb = 0; rv = 0; rr = 0; rx = 0
}

/* ---------------- replies (dtx_driver_on_phase_reply) ---------------- */

#ifdef MUTANT_ANYCONN
#define FROM_SENT_TO(x) 1       /* BUG: any connection may answer */
#else
#define FROM_SENT_TO(x) (m_conn[x] == CONN_PART)   /* s_sent_to: the instance it went to */
#endif

inline on_reply(i, sl)
{
    b = m_br[sl];
    if
    :: !has[i] || loading[i] || b >= mnb[i] || !FROM_SENT_TO(sl) || !minfl[BI(i, b)] ||
       mop[BI(i, b)] != m_op[sl] || m_att[sl] > matt[BI(i, b)] ||
       (m_att[sl] < matt[BI(i, b)] && (m_op[sl] == OP_TRY || m_op[sl] == OP_PREPARE ||
                                      m_out[sl] != OK)) ->
        skip                                /* ignored */
    :: else ->
        if
        :: m_out[sl] != OK ->
            phase_failed(i, b)
        :: else ->
            minfl[BI(i, b)] = 0;
            if
            :: m_op[sl] == OP_TRY && !mprep[i] ->
                mbw[BI(i, b)] = 1; submit(i, W_VOTE, b, TRIED, 0)
            :: m_op[sl] == OP_TRY && mprep[i] ->   /* a TCC_RUN's yes: kept for the decision */
                mbs[BI(i, b)] = TRIED; prepared_check(i)
            :: m_op[sl] == OP_PREPARE ->
                mbs[BI(i, b)] = TRIED; prepared_check(i)
            :: else ->
                branch_acked(i, b)
            fi
        fi
    fi;
    b = 0
}

/* ---------------- the log database (store.c pipelines, sql.c statements) ---------------- */

/* Runs the first entry of node i's queue that has not run. */
inline db_step(i)
{
    k = q_landed[i];
    wk = q_k[QI(i, k)];
    wb = q_v[QI(i, k)];
    if
    /* ---- global-row writes: the fence is checked on the row they update ---- */
    :: wk == W_LOAD ->
        /* CLAIM (steal: a request for an active/stuck transaction; or its owner is dead) */
        if
        :: g_state != 0 && g_state != COMMITTED && g_state != ABORTED && !(g_owner == i + 1 && g_oep == n_epoch[i]) &&
           ((wb && (g_state == ACTIVE || g_state == STUCK)) || OWNER_DEAD) ->
            g_owner = i + 1; g_oep = n_epoch[i]; g_gen++;
#ifdef MAXGEN
            assert(g_gen < MAXGEN);         /* take-overs stay bounded (verify/run.sh pingpong) */
#endif
        :: else -> skip
        fi;
        if
        :: !q_orph[QI(i, k)] ->             /* LOAD_GLOBAL + LOAD_BRANCHES into the copy */
            ms[i] = g_state;
            mdec[i] = (g_state == ACTIVE -> 0 : (IS_DECISION(g_state) -> g_state : g_dec));
            mprep[i] = (g_prep && g_state == ACTIVE);   /* 2PC's prepare phase, or a TCC_RUN's mark */
            own[i] = (g_owner == i + 1 && g_oep == n_epoch[i]);
            mgen[i] = g_gen;
            mnb[i] = g_nb;
            c = 0;
            do
            :: c < NB ->
                mbs[BI(i, c)] = b_state[c];
                mop[BI(i, c)] = (c < g_nb -> (IS_DECISION(g_state) -> OP_FOR(g_state) : VOTE_OP) : 0);
                munk[BI(i, c)] = (b_state[c] == TRYING && VOTE_OP == OP_TRY);
                c++
            :: else -> break
            od;
            c = 0
        :: else -> skip
        fi;
        q_r[QI(i, k)] = 1
    :: wk == W_ORPHANS ->                   /* CLAIM_ORPHANS ... FOR UPDATE SKIP LOCKED */
        if
        :: (g_state == ACTIVE || IS_DECISION(g_state)) && OWNER_DEAD ->
            g_owner = i + 1; g_oep = n_epoch[i]; g_gen++; q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_ADD && q_b[QI(i, k)] == 1 -> /* BRANCH_FIRST: the global row (with the mark) and branch 1 */
        if
        :: g_state == 0 ->
            g_state = ACTIVE; g_owner = i + 1; g_oep = n_epoch[i]; g_gen = 0; g_prep = 1;
            g_nb = 1; b_state[0] = TRYING; q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0        /* ON CONFLICT DO NOTHING */
        fi
    :: wk == W_ADD && q_b[QI(i, k)] == 0 -> /* BRANCH_ADD */
        if
        :: g_state == ACTIVE && FENCE(i, k) ->
            assert(FENCING_OK(i, k));
            assert(g_nb < NB);
            g_nb++; b_state[g_nb - 1] = TRYING; q_r[QI(i, k)] = g_nb
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_DECIDE ->                    /* DECIDE */
        if
        :: g_state == ACTIVE && FENCE(i, k) && COUNT_OK(k) ->
            assert(FENCING_OK(i, k));
            assert(g_dec == 0);             /* a decision is taken once */
            g_state = wb; g_dec = wb;
            if
            :: q_b[QI(i, k)] ->             /* $6: the votes (2PC: prepared; TCC_RUN: yes) */
                c = 0;
                do
                :: c < NB -> if :: b_state[c] == TRYING -> b_state[c] = TRIED
                               :: else -> skip fi; c++
                :: else -> break
                od;
                c = 0
            :: else -> skip
            fi;
            /* votes: a commit decision lands only with every branch's yes
             * in the log (VOTES_IN_LOG), and every Try/Prepare did run */
#ifdef TCCRUN
            /* RUN_WHOLE: a TCC_RUN commits only with every branch of its
             * batch (§19: the batch is refused whole or recorded whole) */
            assert(wb != COMMITTING || g_nb == TRIES);
#endif
            assert(wb != COMMITTING || g_nb < 1 || (b_state[0] == TRIED && e_try[0] == 1));
            assert(wb != COMMITTING || g_nb < 2 || (b_state[1] == TRIED && e_try[1] == 1));
            q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_PREPARING ->                 /* PREPARING */
        if
        :: g_state == ACTIVE && FENCE(i, k) -> assert(FENCING_OK(i, k)); g_prep = 1
        :: else -> skip
        fi
    :: wk == W_FINISH ->
        /* FINISH: the global row (fenced, from the state the copy holds) and,
         * in the same statement, every branch row not yet final set to the
         * decision's final state (the CTE b runs only when d updated the
         * global row). The branch rows are not looked at: what keeps FINISH
         * after every acknowledgement is check_done, in memory. */
        if
        :: g_state == q_x[QI(i, k)] && FENCE(i, k) ->
            assert(FENCING_OK(i, k));
            assert((wb == COMMITTED && g_dec == COMMITTING) || (wb == ABORTED && g_dec == ABORTING));
            /* the acknowledgements it writes are true: every branch's
             * Confirm/Commit (Cancel/Abort: or it has nothing to undo) ran */
            assert(g_nb < 1 || DONE_AT_PART(0, wb));
            assert(g_nb < 2 || DONE_AT_PART(1, wb));
            g_state = wb;
            FINISH_MARK(wb);
            /* atomicity in the log (every branch row matches the final
             * state: also those a BRANCH_DONE wrote), and nothing stays
             * prepared */
            assert(g_nb < 1 || b_state[0] == (wb == COMMITTED -> CONFIRMED : CANCELLED));
            assert(g_nb < 2 || b_state[1] == (wb == COMMITTED -> CONFIRMED : CANCELLED));
            assert(!p_prep[0] && !p_prep[1]);
            q_r[QI(i, k)] = 1
        :: else ->
#ifdef UNFENCED_MARK
            /* an experiment, not a mutant (verify/README.md: it is not
             * caught): the branch rows marked though d matched nothing */
            FINISH_MARK(wb);
#endif
            q_r[QI(i, k)] = 0
        fi
    :: wk == W_STUCK ->                     /* STUCK */
        if
        :: g_state == wb && FENCE(i, k) ->
            assert(FENCING_OK(i, k));
            g_state = STUCK; q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_RESUME ->                    /* RESUME */
        if
        :: g_state == STUCK && FENCE(i, k) ->
            assert(FENCING_OK(i, k));
            g_state = g_dec; q_r[QI(i, k)] = g_dec
        :: else -> q_r[QI(i, k)] = 0
        fi
    /* ---- branch-row writes: the fence is a subquery on the statement's
     * snapshot, not a lock of the global row: a write whose check passed
     * may land after a claim that commits meanwhile (sql.c, by design) ---- */
    :: (wk == W_VOTE || wk == W_DONE) && q_st[QI(i, k)] == Q_QUEUED ->
        if
        :: FENCE(i, k) ->
            assert(FENCING_OK(i, k));
            q_st[QI(i, k)] = Q_CHECKED;
            k = 255                         /* not landed yet */
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_VOTE && q_st[QI(i, k)] == Q_CHECKED ->   /* BRANCH_VOTE */
        wx = q_b[QI(i, k)];
        if
        :: b_state[wx] == TRYING -> b_state[wx] = wb; q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0
        fi
    :: wk == W_DONE && q_st[QI(i, k)] == Q_CHECKED ->   /* BRANCH_DONE */
        wx = q_b[QI(i, k)];
        if
        :: b_state[wx] == TRYING || b_state[wx] == TRIED || b_state[wx] == REFUSED ->
            /* the decision is in the log before any branch is done */
            assert((wb == CONFIRMED && g_dec == COMMITTING) || (wb == CANCELLED && g_dec == ABORTING));
            /* the acknowledgement it writes is true */
            assert(DONE_AT_PART(wx, (wb == CONFIRMED -> COMMITTED : ABORTED)));
            b_state[wx] = wb; q_r[QI(i, k)] = 1
        :: else -> q_r[QI(i, k)] = 0
        fi
    fi;
    if
    :: k != 255 -> q_landed[i]++
    :: else -> skip
    fi;
    k = 0; wk = 0; wb = 0; wx = 0
}

/* ---------------- the coordinator (loop.c: one event at a time) ---------------- */

#define QSPACE(i, n) (q_len[i] + (n) <= WQ)
/* a message about node i's call on branch b is still in the network: a
 * timeout now is early (a fault, within the TIMEOUTS budget); once the
 * call and its reply are gone the timeout is what happens next */
#define IN_NET1(s, i, b) (m_kind[s] != 0 && !m_orph[s] && m_node[s] == (i) && m_br[s] == (b))
#define IN_NET(i, b) (IN_NET1(0, i, b) || IN_NET1(1, i, b) || IN_NET1(2, i, b) || IN_NET1(3, i, b))
/* a Confirm/Cancel not in flight is due again (its backoff passed) */
/* The scan takes an own marked ACTIVE row not in memory (a late lease
 * renewal dropped the copy, nobody claimed it): loaded, it is aborted at
 * once (presumed abort). MUTANT_RUNLAPSEIDLE puts back the scan before the
 * fix, which took an own ACTIVE row only past its deadline. */
#ifdef MUTANT_RUNLAPSEIDLE
#define SCAN_MARKED 0                       /* BUG: the marked row waits for its deadline */
#else
#define SCAN_MARKED g_prep
#endif
#define DUE(i, b) (has[i] && !loading[i] && !writing[i] && !finishing[i] && IS_DECISION(ms[i]) && \
                   (b) < mnb[i] && !minfl[BI(i, b)] && !mbw[BI(i, b)] && \
                   !BR_FINAL(mbs[BI(i, b)]) && mop[BI(i, b)] == OP_FOR(ms[i]))

proctype Coordinator(byte i)
{
    byte b, c, e, k, s, r, rre, nx, rk, rb, rv, rr, ro, rx, wk, wb, wx;
end_loop:
    do
    /* a request from the initiator (parked while loading/writing/preparing).
     * A node whose lease lapsed (paused, then resumed) runs on with what it
     * holds in memory until its late renewal returns, but loads nothing new
     * meanwhile (a load takes a round trip, as the renewal does): without
     * this bound a lapsed node would ping-pong claims with the scan of the
     * other node forever */
    :: atomic { req[i] != 0 && !loading[i] && !writing[i] &&
                !(mprep[i] && own[i] && ms[i] == ACTIVE) && QSPACE(i, 4) &&
                (has[i] || n_lease[i] || req[i] == R_RUN) ->
        if
#ifdef TCCRUN
        :: req[i] == R_RUN -> start_run(i)  /* a new transaction: no gid to load */
#endif
        :: req[i] != R_RUN && !has[i] ->    /* dtx_recovery_load, steal */
            has[i] = 1; loading[i] = 1; submit(i, W_LOAD, 0, 1, 0)
        :: req[i] != R_RUN && has[i] -> run_request(i)
        fi }
    /* a log write's callback */
    :: atomic { q_landed[i] > 0 -> callback(i) }
    /* a reply from the network */
    :: atomic { (m_kind[0] == M_REPLY && m_node[0] == i) -> on_reply(i, 0); net_clear(0) }
    :: atomic { (m_kind[1] == M_REPLY && m_node[1] == i) -> on_reply(i, 1); net_clear(1) }
    :: atomic { (m_kind[2] == M_REPLY && m_node[2] == i) -> on_reply(i, 2); net_clear(2) }
    :: atomic { (m_kind[3] == M_REPLY && m_node[3] == i) -> on_reply(i, 3); net_clear(3) }
    /* timers: the deadline; a phase timeout; a retry that is due */
    :: atomic { has[i] && !loading[i] && ms[i] == ACTIVE && deadline && !writing[i] &&
                QSPACE(i, 2) -> raise_abort(i) }
    :: atomic { has[i] && !loading[i] && QSPACE(i, 2) && minfl[BI(i, 0)] &&
                (!IN_NET(i, 0) || BUDGET(timeouts, TIMEOUTS)) ->
        if :: IN_NET(i, 0) -> SPEND(timeouts, TIMEOUTS) :: else -> skip fi;
        phase_failed(i, 0) }
    :: atomic { has[i] && !loading[i] && QSPACE(i, 2) && minfl[BI(i, 1)] &&
                (!IN_NET(i, 1) || BUDGET(timeouts, TIMEOUTS)) ->
        if :: IN_NET(i, 1) -> SPEND(timeouts, TIMEOUTS) :: else -> skip fi;
        phase_failed(i, 1) }
    :: atomic { DUE(i, 0) && QSPACE(i, 2) -> send_phase(i, 0) }
    :: atomic { DUE(i, 1) && QSPACE(i, 2) -> send_phase(i, 1) }
    /* the acknowledgements only memory knows are written while another
     * branch is still to come (the timer DTX_ACK_FOLD_MS after such an
     * acknowledgement: dtx_driver_on_timer) */
#ifndef NOPROGRESS
    :: atomic { has[i] && own[i] && !loading[i] && (mack[BI(i, 0)] || mack[BI(i, 1)]) &&
                (!BR_FINAL(mbs[BI(i, 0)]) || (mnb[i] > 1 && !BR_FINAL(mbs[BI(i, 1)]))) &&
                QSPACE(i, NB) -> log_progress(i) }
#endif
    /* the recovery scan: own unfinished work not in memory (DTX_SQL_SCAN:
     * decided, or ACTIVE past the deadline or marked) */
    :: atomic { !has[i] && n_lease[i] && g_owner == i + 1 && g_oep == n_epoch[i] &&
                (IS_DECISION(g_state) || (g_state == ACTIVE && (deadline || SCAN_MARKED))) &&
                QSPACE(i, 1) ->
        has[i] = 1; loading[i] = 1; submit(i, W_LOAD, 0, 0, 0) }
    /* the recovery scan: claim the transactions of dead coordinators */
    :: atomic { !scan[i] && n_lease[i] && (g_state == ACTIVE || IS_DECISION(g_state)) && OWNER_DEAD &&
                !(g_owner == i + 1 && g_oep == n_epoch[i]) && QSPACE(i, 1) ->
        scan[i] = 1; submit(i, W_ORPHANS, 0, 0, 0) }
    /* the lease renewal comes back late: drop every copy, renew (lease.c) */
    :: atomic { n_lease[i] == 0 ->
        if :: has[i] -> drop_copy(i) :: else -> skip fi;
        n_lease[i] = 1 }
    /* kill -9 and restart: memory and queued writes are gone; a new epoch */
    :: atomic { faulty && crashes < CRASHES ->   /* bounded: each one is a new epoch */
        crashes++;
        /* what the process had sent may still run: any prefix of its
         * pipeline lands (PostgreSQL executes what it received) */
        do
        :: q_landed[i] < q_len[i] -> db_step(i)
        :: true -> break
        od;
#ifdef TCCRUN
        if :: i == 0 -> rdue = 0 :: else -> skip fi   /* the collector dies with the process */
#endif
        drop_copy(i);
        req[i] = 0; scan[i] = 0;
        k = 0;
        do
        :: k < WQ -> q_k[QI(i, k)] = 0; q_b[QI(i, k)] = 0; q_v[QI(i, k)] = 0;
            q_x[QI(i, k)] = 0; q_g[QI(i, k)] = 0; q_st[QI(i, k)] = 0; q_r[QI(i, k)] = 0;
            q_orph[QI(i, k)] = 0; k++
        :: else -> break
        od;
        k = 0;
        q_len[i] = 0; q_landed[i] = 0;
        n_epoch[i]++;                       /* dtx_lease_acquire: epoch + 1 */
        n_lease[i] = 1 }
    od
}

proctype Database()
{
    byte k, c, wk, wb, wx;
end_db:
    do
    :: atomic { q_landed[0] < q_len[0] -> db_step(0) }
    :: atomic { q_landed[1] < q_len[1] -> db_step(1) }
    od
}

/* ---------------- participants (barrier.c, pgres.c) ---------------- */

/* atomicity at the participants: never a commit effect on one branch and an
 * abort effect on another */
#define NO_ABORT_EFFECT   (e_canc[0] == 0 && e_canc[1] == 0)
#define NO_COMMIT_EFFECT  (e_conf[0] == 0 && e_conf[1] == 0)

inline reply(rs, out)
{
    if
    :: m_orph[rs] -> net_clear(rs)            /* its copy is gone: the reply matches nothing */
    :: else ->
        m_kind[rs] = M_REPLY; m_out[rs] = out; m_conn[rs] = CONN_PART
    fi
}

#ifndef TWOPC
/* dtx_barrier_call + the business handlers (TCC) */
inline handle_phase(hs)
{
    b = m_br[hs];
    if
    :: m_op[hs] == OP_TRY ->
        if
        :: p_tryrow[b] == 0 ->              /* (try, try) inserted: RUN */
            if
            :: true ->                      /* the Try's work: yes */
                assert(p_cancrow[b] == 0);  /* barrier: no Try effect after its Cancel */
                p_tryrow[b] = 1; e_try[b]++;
                assert(e_try[b] == 1);      /* barrier: no effect twice */
                reply(hs, OK)
            :: refusals < REFUSALS -> refusals++; reply(hs, REFUSE)   /* the Try's work: no */
            fi
        :: p_tryrow[b] == 1 -> reply(hs, OK)       /* DUPLICATE */
        :: p_tryrow[b] == 2 -> reply(hs, REFUSE)   /* HANGING: after its Cancel */
        fi
    :: m_op[hs] == OP_CONFIRM ->
        if
        :: !p_confrow[b] ->
            p_confrow[b] = 1; e_conf[b]++;
            assert(e_conf[b] == 1);
            assert(e_try[b] == 1);          /* a Confirm confirms a Try that ran */
            assert(LOG_COMMIT);             /* only after a durable commit decision */
            assert(NO_ABORT_EFFECT);        /* atomicity */
            assert(b_state[b] == TRIED);    /* votes: its yes is in the log */
            reply(hs, OK)
        :: else -> reply(hs, OK)             /* DUPLICATE */
        fi
    :: m_op[hs] == OP_CANCEL ->
#ifndef MUTANT_NOCANCELROW
        if
        :: p_tryrow[b] == 0 ->              /* (try, cancel) inserted: NULL_COMPENSATION */
            p_tryrow[b] = 2; p_cancrow[b] = 1; e_canc[b]++;
            assert(e_canc[b] == 1);
            assert(g_dec == ABORTING);
            assert(NO_COMMIT_EFFECT);
            reply(hs, OK)
        :: p_tryrow[b] != 0 && !p_cancrow[b] ->   /* INSERT_CANCEL, (cancel, cancel): RUN */
            p_cancrow[b] = 1; e_canc[b]++;
            assert(e_canc[b] == 1);
            assert(g_dec == ABORTING);
            assert(NO_COMMIT_EFFECT);
            reply(hs, OK)
        :: p_tryrow[b] != 0 && p_cancrow[b] -> reply(hs, OK)   /* DUPLICATE */
        fi
#else
        /* BUG: no (try, cancel) row: a cancel before its try leaves no mark */
        if
        :: !p_cancrow[b] ->
            p_cancrow[b] = 1; e_canc[b]++;
            assert(e_canc[b] == 1);
            assert(g_dec == ABORTING);
            assert(NO_COMMIT_EFFECT);
            reply(hs, OK)
        :: else -> reply(hs, OK)
        fi
#endif
    fi;
    b = 0
}
#else
/* pgres.c: PREPARE / COMMIT / ABORT over PostgreSQL prepared transactions.
 * The (try, try) row of a prepare is inside the prepared transaction: it
 * is committed (p_tryrow = 1) by COMMIT PREPARED and vanishes with
 * ROLLBACK PREPARED. */
inline pg_commit(pb, out)                    /* s_commit */
{
    if
    :: p_prep[pb] ->                         /* COMMIT PREPARED */
        assert(LOG_COMMIT);                 /* 2PC: only with a durable commit decision */
        assert(NO_ABORT_EFFECT);            /* atomicity */
        p_prep[pb] = 0; p_tryrow[pb] = 1; e_conf[pb]++;
        assert(e_conf[pb] == 1);
        assert(b_state[pb] == TRIED);       /* votes: its prepared vote is in the log */
        out = OK
    :: !p_prep[pb] && p_tryrow[pb] == 1 -> out = OK   /* committed already */
    :: else -> out = FAIL                   /* not prepared here: ESTATE */
    fi
}

inline pg_abort(pb, out)                     /* s_abort */
{
    if
    :: p_prep[pb] -> p_prep[pb] = 0           /* ROLLBACK PREPARED: the try row goes too */
    :: else -> skip
    fi;
#ifndef MUTANT_NOCANCELROW
    if
    :: p_tryrow[pb] == 0 ->                  /* NULL_COMPENSATION: the abort marker */
        p_tryrow[pb] = 2; p_cancrow[pb] = 1; e_canc[pb]++;
        assert(e_canc[pb] == 1);
        assert(g_dec == ABORTING);
        assert(NO_COMMIT_EFFECT);
        out = OK
    :: p_tryrow[pb] != 0 && !p_cancrow[pb] -> out = FAIL   /* s_abort_after_commit */
    :: p_tryrow[pb] != 0 && p_cancrow[pb] -> out = OK       /* DUPLICATE */
    fi
#else
    if
    :: !p_cancrow[pb] && p_tryrow[pb] == 0 ->
        p_cancrow[pb] = 1; e_canc[pb]++;
        assert(e_canc[pb] == 1);
        assert(g_dec == ABORTING);
        assert(NO_COMMIT_EFFECT);
        out = OK
    :: !p_cancrow[pb] && p_tryrow[pb] != 0 -> out = FAIL
    :: else -> out = OK
    fi
#endif
}

inline handle_phase(hs)
{
    b = m_br[hs];
    if
    :: m_op[hs] == OP_PREPARE ->
        if
        :: p_prep[b] -> reply(hs, OK)        /* already prepared: yes */
        :: !p_prep[b] && p_tryrow[b] == 0 ->
            if
            :: true ->                      /* work; PREPARE TRANSACTION */
                assert(p_cancrow[b] == 0);  /* barrier: no prepare after its abort */
                assert(!IS_FINAL(g_state)); /* nothing prepared once final */
                p_prep[b] = 1; e_try[b]++;
                assert(e_try[b] == 1);
                reply(hs, OK)
            :: refusals < REFUSALS -> refusals++; reply(hs, REFUSE)   /* work refused: ROLLBACK */
            fi
        :: !p_prep[b] && p_tryrow[b] == 1 -> reply(hs, OK)       /* committed: yes */
        :: !p_prep[b] && p_tryrow[b] == 2 -> reply(hs, REFUSE)   /* hanging prepare */
        fi
    :: m_op[hs] == OP_COMMIT -> pg_commit(b, o); reply(hs, o)
    :: m_op[hs] == OP_ABORT -> pg_abort(b, o); reply(hs, o)
    fi;
    o = 0;
    b = 0
}
#endif

proctype Participant()
{
    byte b, o;
end_part:
    do
    :: atomic { m_kind[0] == M_PHASE -> handle_phase(0) }
    :: atomic { m_kind[1] == M_PHASE -> handle_phase(1) }
    :: atomic { m_kind[2] == M_PHASE -> handle_phase(2) }
    :: atomic { m_kind[3] == M_PHASE -> handle_phase(3) }
    od
}

/* ---------------- the initiator: TRYs, then COMMIT or ROLLBACK, or gone ---------------- */

#ifdef TCCRUN
/* -DTCCRUN: one TCC_RUN (flag bit 0) to C1; then, naming the gid (an
 * operator, or a client that found it by its trace), at most FINREQS
 * COMMIT/ROLLBACK to C1 or (without NOSTEAL) to C2, where it takes the
 * transaction over (steal) */
proctype Initiator()
{
    byte runs = 0, fins = 0;
end_init:
    do
    :: atomic { runs == 0 && req[0] == 0 -> req[0] = R_RUN; runs = 1 }
    :: atomic { runs == 1 && fins < FINREQS && req[0] == 0 -> req[0] = R_COMMIT; fins++ }
    :: atomic { runs == 1 && fins < FINREQS && req[0] == 0 -> req[0] = R_ROLLBACK; fins++ }
#ifndef NOSTEAL
    :: atomic { runs == 1 && fins < FINREQS && req[1] == 0 -> req[1] = R_COMMIT; fins++ }
    :: atomic { runs == 1 && fins < FINREQS && req[1] == 0 -> req[1] = R_ROLLBACK; fins++ }
#endif
#ifdef LIVENESS
    :: break
#endif
    od
}
#else
proctype Initiator()
{
    byte tries = 0, fins = 0;
end_init:
    do
    :: atomic { tries < TRIES && req[0] == 0 -> req[0] = R_TRY; reqre[0] = 0; tries++ }
#ifndef NOSTEAL
    :: atomic { tries < TRIES && req[1] == 0 -> req[1] = R_TRY; reqre[1] = 0; tries++ }
#endif
    :: atomic { fins < FINREQS && req[0] == 0 -> req[0] = R_COMMIT; fins++ }
#ifndef NOSTEAL
    :: atomic { fins < FINREQS && req[1] == 0 -> req[1] = R_COMMIT; fins++ }
#endif
    :: atomic { fins < FINREQS && req[0] == 0 -> req[0] = R_ROLLBACK; fins++ }
#ifdef TWOCOMMITS
    /* the same COMMIT sent to the other coordinator too (a client that
     * retries at another dtxd while the first still works on it) */
    :: atomic { fins < FINREQS + 1 && req[1] == 0 -> req[1] = R_COMMIT; fins++ }
#endif
#ifdef LIVENESS
    :: break                                /* vanishes (for safety, not acting is the same) */
#endif
    od
}
#endif

/* ---------------- time: the deadline passes, once ---------------- */

/* RUN_NOT_IDLE (-DLAPSEIDLE, verify/README.md "the lease-lapse gap"): the
 * deadline passes only once nothing else can move, and then the marked
 * transaction (a TCC_RUN's, or a 2PC prepare phase's) is not ACTIVE in
 * nobody's memory with its owner alive and nothing queued or asked — a
 * state only the deadline would move. */
#ifdef LAPSEIDLE
#define NOT_IDLE_BEFORE_DEADLINE                                                        \
    timeout;                                                                            \
    assert(!(g_state == ACTIVE && g_prep && !has[0] && !has[1] &&                        \
             n_lease[0] && n_lease[1] && g_owner == 1 && g_oep == n_epoch[0] &&          \
             q_len[0] == 0 && q_len[1] == 0 && req[0] == 0 && req[1] == 0));
#else
#define NOT_IDLE_BEFORE_DEADLINE skip;
#endif

proctype Clock()
{
#ifdef MUTANT_NODEADLINE
    skip                                    /* BUG: no deadline timer: an abandoned transaction stays active */
#elif defined(TCCRUN)
end_clock:
    (has[0] || g_state != 0);               /* the deadline counts from the TCC_RUN */
    NOT_IDLE_BEFORE_DEADLINE
    deadline = 1
#else
    NOT_IDLE_BEFORE_DEADLINE
    deadline = 1
#endif
}

#ifdef LIVENESS
/* SPIN extends only a run whose processes all ended: a run that stops with
 * the loops blocked (every process waiting, nothing enabled) would be a
 * finite run the LTL runs never look at. This makes such a quiescent state
 * repeat forever, so that "stops before the end" is a counterexample. */
proctype Quiet()
{
end_quiet:
    do
    :: timeout -> skip
    od
}
#endif

/* ---------------- faults and the operator ---------------- */

proctype Faults()
{
    byte s, k, b, o;
end_faults:
    do
    /* a coordinator paused past its lease: its lease expires in dtx_node */
    :: atomic { BUDGET(pauses, PAUSES) -> SPEND(pauses, PAUSES);
        if :: n_lease[0] = 0 :: n_lease[1] = 0 fi }
    /* the network loses one message */
    :: atomic { BUDGET(losses, LOSSES) && m_kind[0] != 0 -> SPEND(losses, LOSSES); net_clear(0) }
    :: atomic { BUDGET(losses, LOSSES) && m_kind[1] != 0 -> SPEND(losses, LOSSES); net_clear(1) }
    :: atomic { BUDGET(losses, LOSSES) && m_kind[2] != 0 -> SPEND(losses, LOSSES); net_clear(2) }
    :: atomic { BUDGET(losses, LOSSES) && m_kind[3] != 0 -> SPEND(losses, LOSSES); net_clear(3) }
    /* ... or delivers one twice */
    :: atomic { BUDGET(dups, DUPS) && m_kind[0] != 0 -> SPEND(dups, DUPS); net_free_slot(s);
        if
        :: s < NET -> m_kind[s] = m_kind[0]; m_node[s] = m_node[0]; m_br[s] = m_br[0];
            m_op[s] = m_op[0]; m_att[s] = m_att[0]; m_out[s] = m_out[0]; m_conn[s] = m_conn[0];
            m_orph[s] = m_orph[0]
        :: else -> skip
        fi; s = 0 }
    /* another peer forges a yes to a call in flight */
    :: atomic { BUDGET(forges, FORGES) -> SPEND(forges, FORGES); net_free_slot(s);
        if
        :: s < NET ->
            if
            :: minfl[BI(0, 0)] -> k = 0; b = 0
            :: minfl[BI(0, 1)] -> k = 0; b = 1
            :: minfl[BI(1, 0)] -> k = 1; b = 0
            :: minfl[BI(1, 1)] -> k = 1; b = 1
            :: else -> s = NET
            fi;
            if
            :: s < NET -> m_kind[s] = M_REPLY; m_node[s] = k; m_br[s] = b;
                m_op[s] = mop[BI(k, b)]; m_att[s] = matt[BI(k, b)]; m_out[s] = OK;
                m_conn[s] = CONN_FORGE
            :: else -> skip
            fi
        :: else -> skip
        fi; s = 0; k = 0; b = 0 }
#ifdef TWOPC
    /* a participant restarts: dtx_pgres_recover asks STATUS for each prepared one */
    :: atomic { BUDGET(prestarts, PRESTARTS) && (p_prep[0] || p_prep[1]) -> SPEND(prestarts, PRESTARTS);
        b = 0;
        do
        :: b < NB ->
            if
            :: p_prep[b] && (g_state == COMMITTING || g_state == COMMITTED) -> pg_commit(b, o)
            :: p_prep[b] && (g_state == ABORTING || g_state == ABORTED) -> pg_abort(b, o)
            :: else -> skip                 /* active, stuck: left to its coordinator */
            fi;
            b++
        :: else -> break
        od;
        b = 0; o = 0 }
#endif
    /* an operator resumes a stuck transaction (RESUME on any coordinator) */
    :: atomic { resumes < RESUMES && g_state == STUCK && req[0] == 0 -> resumes++; req[0] = R_RESUME }
    :: atomic { resumes < RESUMES && g_state == STUCK && req[1] == 0 -> resumes++; req[1] = R_RESUME }
    od
}

init
{
    atomic {
        n_epoch[0] = 1; n_epoch[1] = 1; n_lease[0] = 1; n_lease[1] = 1;
        /* node 1 has just begun the transaction (BEGIN durable, in memory) */
#ifdef TCCRUN
        g_state = 0;                        /* no row yet: the TCC_RUN creates it */
#else
        has[0] = 1; own[0] = 1; ms[0] = ACTIVE; mgen[0] = 0;
#endif
        run Database();
        run Coordinator(0);
        run Coordinator(1);
        run Participant();
        run Initiator();
        run Clock();
        run Faults();
#ifdef LIVENESS
        run Quiet()
#endif
    }
#ifdef LIVENESS
    ;
    /* the point after which no fault happens: init stays enabled until it
     * took it, so weak fairness puts it in every fair run (pan -f) */
    faulty = 0
#endif
}

/* ---------------- LTL (pan -a -f -N NAME) ---------------- */

#ifdef TCCRUN
#define FINAL_OR_STUCK (g_state == COMMITTED || g_state == ABORTED || g_state == STUCK || g_state == 0)
#else
#define FINAL_OR_STUCK (g_state == COMMITTED || g_state == ABORTED || g_state == STUCK)
#endif
/* termination: once faults stop, every transaction ends final, or stuck (visible) */
ltl term { <> [] FINAL_OR_STUCK }
/* the initiator told committing => every branch ends confirmed (or it is stuck) */
ltl told_live { [] (told_commit -> <> (g_state == COMMITTED || g_state == STUCK)) }
