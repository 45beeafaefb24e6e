from multiprocessing import Pool

def calcular_suma(n):
    return sum(range(1, n+1))

if __name__ == '__main__':
    numeros = [100000, 200000, 300000, 400000]
    with Pool(processes=4) as pool:
        resultados = pool.map(calcular_suma, numeros)
    print(resultados)
