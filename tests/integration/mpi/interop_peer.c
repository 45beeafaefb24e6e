/* A plain C MPI program that talks to hilo in one MPI_COMM_WORLD (mpirun -n 1 this : -n 1 hilo).
 * It receives what hilo sends with ordinary MPI_Recv calls and answers with MPI_Send: hilo's
 * trivially copyable messages are plain MPI messages, with no header. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static int fail(const char* what) {
  printf("interop_peer: FAILED %s\n", what);
  MPI_Abort(MPI_COMM_WORLD, 2);
  return 2;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
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
  printf("interop_peer: OK received int, doubles and text from hilo with MPI_Recv\n");
  MPI_Finalize();
  return 0;
}
