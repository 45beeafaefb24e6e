/* A plain C MPI program that talks to hilo in one MPI_COMM_WORLD (mpirun -n 1 this : -n N hilo,
 * N >= 1). It receives what hilo's world rank 1 sends with ordinary MPI_Recv calls and answers
 * with MPI_Send: hilo's trivially copyable messages are plain MPI messages, with no header. Then
 * every rank takes part in the same collectives, this one with MPI's calls and hilo's ranks with
 * hilo's: MPI_Alltoall, MPI_Scan, MPI_Reduce_scatter_block, and MPI_Sendrecv around a ring. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what) {
  printf("interop_peer: FAILED %s\n", what);
  MPI_Abort(MPI_COMM_WORLD, 2);
  return 2;
}

static int point_to_point(void) {
  int hilo_rank = 1;
  int value = 0;
  double doubles[3] = {0};
  char text[64] = {0};
  MPI_Status status;
  MPI_Recv(&value, 1, MPI_INT, hilo_rank, 1, MPI_COMM_WORLD, &status);
  if (value != 42) return fail("int from hilo");
  MPI_Recv(doubles, 3, MPI_DOUBLE, hilo_rank, 2, MPI_COMM_WORLD, &status);
  if (doubles[0] != 1.5 || doubles[2] != 3.5) return fail("vector<double> from hilo");
  MPI_Recv(text, sizeof text, MPI_CHAR, hilo_rank, 3, MPI_COMM_WORLD, &status);
  int length = 0;
  MPI_Get_count(&status, MPI_CHAR, &length);
  if (length != 10 || strncmp(text, "hola hilo!", 10) != 0) return fail("std::string from hilo");
  long long answer[4] = {7, 8, 9, 10};
  MPI_Send(answer, 4, MPI_LONG_LONG, hilo_rank, 4, MPI_COMM_WORLD);
  float f = 2.25f;
  MPI_Send(&f, 1, MPI_FLOAT, hilo_rank, 5, MPI_COMM_WORLD);
  return 0;
}

/* The values each rank contributes are the ones interop_hilo.cpp computes for its ranks. */
static int collectives(int rank, int size) {
  int* to_each = malloc(sizeof(int) * size);
  int* from_each = malloc(sizeof(int) * size);
  for (int j = 0; j < size; ++j) to_each[j] = rank * 10 + j;
  MPI_Alltoall(to_each, 1, MPI_INT, from_each, 1, MPI_INT, MPI_COMM_WORLD);
  for (int j = 0; j < size; ++j)
    if (from_each[j] != j * 10 + rank) return fail("MPI_Alltoall with hilo's all_to_all");

  int64_t mine = rank + 1, prefix = 0;
  MPI_Scan(&mine, &prefix, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  if (prefix != (int64_t)(rank + 1) * (rank + 2) / 2) return fail("MPI_Scan with hilo's scan");

  for (int i = 0; i < size; ++i) to_each[i] = rank + 100 * i;
  int reduced = 0;
  MPI_Reduce_scatter_block(to_each, &reduced, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (reduced != size * (size - 1) / 2 + 100 * size * rank)
    return fail("MPI_Reduce_scatter_block with hilo's reduce_scatter");

  int sent = rank * 7, received = -1;
  MPI_Sendrecv(&sent, 1, MPI_INT, (rank + 1) % size, 20, &received, 1, MPI_INT,
               (rank + size - 1) % size, 20, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (received != (rank + size - 1) % size * 7) return fail("MPI_Sendrecv with hilo's sendrecv");
  free(to_each);
  free(from_each);
  return 0;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (point_to_point() != 0) return 2;
  printf("interop_peer: OK received int, doubles and text from hilo with MPI_Recv\n");
  if (collectives(rank, size) != 0) return 2;
  printf(
      "interop_peer: OK MPI_Alltoall, MPI_Scan, MPI_Reduce_scatter_block and MPI_Sendrecv "
      "with %d hilo ranks\n",
      size - 1);
  fflush(stdout);
  MPI_Finalize();
  return 0;
}
