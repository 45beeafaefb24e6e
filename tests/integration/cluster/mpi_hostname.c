/* mpi_hostname: the smallest MPI program that proves a launch really worked.
 *
 * Every rank passes a ring message to its neighbour and all ranks agree on the sum of the rank
 * numbers, so a line is printed only after real point-to-point and collective traffic went
 * through. Then each rank prints
 *
 *     mpi_hostname: OK rank=R size=N host=H
 *
 * which the cluster test beds check (the OK line, and how many distinct hosts appear).
 * On any mismatch the rank prints "mpi_hostname: FAILED ..." and the program exits 1. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

enum { ring_tag = 17, host_name_capacity = 256 };

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  char host[host_name_capacity] = {0};
  if (gethostname(host, sizeof host - 1) != 0) strcpy(host, "unknown");

  /* Ring: send my rank to the next rank, receive the previous one's. */
  int next = (rank + 1) % size;
  int previous = (rank + size - 1) % size;
  int received = -1;
  MPI_Sendrecv(&rank, 1, MPI_INT, next, ring_tag, &received, 1, MPI_INT, previous, ring_tag,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);

  /* Collective: the sum of 0..size-1 is known in closed form. */
  long rank_sum = 0;
  long my_rank = rank;
  MPI_Allreduce(&my_rank, &rank_sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  long expected_sum = (long)size * (size - 1) / 2;

  int ok = received == previous && rank_sum == expected_sum;
  if (ok) {
    printf("mpi_hostname: OK rank=%d size=%d host=%s\n", rank, size, host);
  } else {
    printf("mpi_hostname: FAILED rank=%d size=%d host=%s ring=%d (want %d) sum=%ld (want %ld)\n",
           rank, size, host, received, previous, rank_sum, expected_sum);
  }
  fflush(stdout);
  MPI_Finalize();
  return ok ? 0 : 1;
}
