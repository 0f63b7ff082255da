/* Ids and random numbers (common/include/dtx/id.h): the ULID layout, and
 * per-thread generators that threads and forked children never share. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dtx/clock.h"
#include "dtx/hex.h"
#include "dtx/id.h"
#include "unit.h"

#define S_THREADS        8
#define S_IDS_PER_THREAD 2000
#define S_RANDOM_CHARS   16  /* the last 16 chars are 80 random bits */

static const char s_alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

typedef struct {
    char (*ids)[DTX_ID_LEN + 1];  /* this thread's slice */
    int  failed;                  /* dtx_id_new calls that did not return 0 */
} s_slice_t;

/* Decodes the 48-bit millisecond prefix (the first 10 chars); -1 when a
 * char is outside the alphabet. */
static int64_t s_id_ms(const char *id)
{
    int64_t ms = 0;
    for (int i = 0; i < 10; i++) {
        const char *p = strchr(s_alphabet, id[i]);
        if (!p || !id[i])
            return -1;
        ms = (ms << 5) | (int64_t)(p - s_alphabet);
    }
    return ms;
}

/* Well-formed: DTX_ID_LEN chars of the alphabet, the top 2 of 130 bits
 * zero, a timestamp within [t0, t1]. */
static int s_well_formed(const char *id, int64_t t0, int64_t t1)
{
    if (strlen(id) != DTX_ID_LEN || strspn(id, s_alphabet) != DTX_ID_LEN || id[0] > '7')
        return 0;
    int64_t ms = s_id_ms(id);
    return ms >= t0 && ms <= t1;
}

static void *s_make_ids(void *arg)
{
    s_slice_t *slice = arg;
    for (int i = 0; i < S_IDS_PER_THREAD; i++)
        if (dtx_id_new(slice->ids[i]) != 0)
            slice->failed++;
    return NULL;
}

static int s_cmp_random_part(const void *a, const void *b)
{
    return memcmp((const char *)a + DTX_ID_LEN - S_RANDOM_CHARS,
                  (const char *)b + DTX_ID_LEN - S_RANDOM_CHARS, S_RANDOM_CHARS);
}

static void test_ids_from_several_threads_are_distinct_and_well_formed(void)
{
    char (*ids)[DTX_ID_LEN + 1] = calloc(S_THREADS * S_IDS_PER_THREAD, sizeof *ids);
    CU_ASSERT_FATAL(ids != NULL);
    s_slice_t slices[S_THREADS];
    pthread_t th[S_THREADS];
    int64_t t0 = dtx_clock_wall_ms();
    for (int i = 0; i < S_THREADS; i++) {
        slices[i] = (s_slice_t){ ids + i * S_IDS_PER_THREAD, 0 };
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, s_make_ids, &slices[i]) == 0);
    }
    for (int i = 0; i < S_THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(slices[i].failed, 0);
    }
    int64_t t1 = dtx_clock_wall_ms();
    int bad = 0;
    for (int i = 0; i < S_THREADS * S_IDS_PER_THREAD; i++)
        bad += !s_well_formed(ids[i], t0, t1);
    CU_ASSERT_EQUAL(bad, 0);
    /* Distinct random parts, not only distinct ids: two threads drawing
     * the same sequence a millisecond apart would still differ in the
     * timestamp. */
    qsort(ids, S_THREADS * S_IDS_PER_THREAD, sizeof *ids, s_cmp_random_part);
    int dup = 0;
    for (int i = 1; i < S_THREADS * S_IDS_PER_THREAD; i++)
        dup += s_cmp_random_part(ids[i - 1], ids[i]) == 0;
    CU_ASSERT_EQUAL(dup, 0);
    free(ids);
}

static void test_ids_of_one_thread_sort_by_creation_time(void)
{
    char prev[DTX_ID_LEN + 1], id[DTX_ID_LEN + 1];
    CU_ASSERT_EQUAL_FATAL(dtx_id_new(prev), 0);
    for (int i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL_FATAL(dtx_id_new(id), 0);
        CU_ASSERT(memcmp(prev, id, 10) <= 0);
        CU_ASSERT(strcmp(prev, id) != 0);
        memcpy(prev, id, sizeof id);
    }
}

/* The thread that survives fork() must not go on with its parent's
 * sequence: the child's next draws differ from the parent's. */
static void test_forked_child_draws_another_sequence(void)
{
    char parent[DTX_ID_LEN + 1], child[DTX_ID_LEN + 1] = "";
    CU_ASSERT_EQUAL_FATAL(dtx_id_new(parent), 0);  /* seeded before the fork */
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char id[DTX_ID_LEN + 1];
        uint64_t r = dtx_random_u64();
        int ok = dtx_id_new(id) == 0 &&
                 write(fds[1], id, DTX_ID_LEN) == DTX_ID_LEN &&
                 write(fds[1], &r, sizeof r) == (ssize_t)sizeof r;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    uint64_t parent_r = dtx_random_u64(), child_r = 0;
    CU_ASSERT_EQUAL_FATAL(dtx_id_new(parent), 0);
    CU_ASSERT_EQUAL(read(fds[0], child, DTX_ID_LEN), DTX_ID_LEN);
    CU_ASSERT_EQUAL(read(fds[0], &child_r, sizeof child_r), (ssize_t)sizeof child_r);
    close(fds[0]);
    int status = 0;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(parent_r != child_r);
    CU_ASSERT(memcmp(parent + DTX_ID_LEN - S_RANDOM_CHARS, child + DTX_ID_LEN - S_RANDOM_CHARS,
                     S_RANDOM_CHARS) != 0);
}

/* A word's sixteen digits (dtx/hex.h): every nibble once, lower case,
 * nibble i at out[i] here (x86 and the other little-endian machines). */
static void test_hex16_writes_every_nibble_of_a_word(void)
{
    char out[17] = { 0 };
    dtx_hex16(0x0123456789abcdefULL, out);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    CU_ASSERT_STRING_EQUAL(out, "fedcba9876543210");
#endif
    for (int v = 0; v < 16; v++) {
        dtx_hex16(0x1111111111111111ULL * (uint64_t)v, out);
        for (int i = 0; i < 16; i++)
            CU_ASSERT_EQUAL(out[i], "0123456789abcdef"[v]);
    }
}

/* dtx_id_valid: what dtx_id_new writes, and nothing else. */
static void test_id_valid_takes_only_what_id_new_writes(void)
{
    char id[DTX_ID_LEN + 1];
    for (int i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL_FATAL(dtx_id_new(id), 0);
        CU_ASSERT_TRUE_FATAL(dtx_id_valid(id));
    }
    CU_ASSERT_TRUE(dtx_id_valid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")); /* the largest */
    CU_ASSERT_TRUE(dtx_id_valid("00000000000000000000000000"));
    const char *bad[] = { "", "0", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVV",
                          "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", "01arz3ndektsv4rrffq69g5fav",
                          "01ARZ3NDEKTSV4RRFFQ69G5FAI", "01ARZ3NDEKTSV4RRFFQ69G5FAL",
                          "01ARZ3NDEKTSV4RRFFQ69G5FAO", "01ARZ3NDEKTSV4RRFFQ69G5FAU",
                          "01ARZ3NDEKTSV4RRFFQ69G5FA-", "c:01ARZ3NDEKTSV4RRFFQ69G5FAV" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_FALSE(dtx_id_valid(bad[i]));
    CU_ASSERT_FALSE(dtx_id_valid(NULL));
}

UNIT_SUITE(id)
{
    CU_pSuite s = CU_add_suite("id", NULL, NULL);
    CU_add_test(s, "valid takes only what id_new writes",
                test_id_valid_takes_only_what_id_new_writes);
    CU_add_test(s, "ids from several threads are distinct and well formed",
                test_ids_from_several_threads_are_distinct_and_well_formed);
    CU_add_test(s, "ids of one thread sort by creation time",
                test_ids_of_one_thread_sort_by_creation_time);
    CU_add_test(s, "forked child draws another sequence", test_forked_child_draws_another_sequence);
    CU_add_test(s, "hex16 writes every nibble of a word", test_hex16_writes_every_nibble_of_a_word);
}
