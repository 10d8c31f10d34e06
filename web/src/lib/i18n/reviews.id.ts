/** Reviews, ratings and order history (issue 14): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {
  'reviews.rating.summary': '{average} · {count} ulasan',
  'reviews.rating.aria': 'Nilai {average} dari 5, {count} ulasan',
  'reviews.rating.none': 'Belum ada ulasan',
  'reviews.stars.aria': '{n} dari 5 bintang',

  'reviews.detail.title': 'Ulasan pembeli',
  'reviews.detail.empty': 'Belum ada ulasan. Yang sudah membeli bisa menilai dari riwayat pesanan.',
  'reviews.detail.failed': 'Ulasan tidak bisa dimuat sekarang.',
  'reviews.detail.verified': 'Pembeli terverifikasi',

  'reviews.orders.title': 'Riwayat pesanan',
  'reviews.orders.intro':
    'Pesanan dari ruang belanjamu: bagian yang kamu bayar, struk, dan ulasan.',
  'reviews.orders.empty': 'Belum ada pesanan. Pesanan muncul di sini setelah grupmu membayar.',
  'reviews.orders.failed': 'Riwayat pesanan tidak bisa dimuat sekarang. Coba lagi sebentar lagi.',
  'reviews.orders.unnamedRoom': 'Ruang {id}',
  'reviews.orders.share': 'Bagianmu',
  'reviews.orders.total': 'Total pesanan {amount}',
  'reviews.orders.receipt': 'Lihat struk',
  'reviews.orders.openRoom': 'Buka ruang',
  'reviews.orders.items': 'Barang',
  'reviews.orders.afterPickup': 'Ulasan bisa ditulis setelah pesanan diambil.',
  'reviews.orders.rate': 'Beri nilai',
  'reviews.orders.edit': 'Ubah ulasan',
  'reviews.orders.yours': 'Nilaimu',

  'reviews.form.rating': 'Nilai untuk {product}',
  'reviews.form.star': '{n} bintang',
  'reviews.form.text': 'Ulasan (opsional)',
  'reviews.form.textHint': 'Teks biasa, paling banyak {max} karakter.',
  'reviews.form.submit': 'Simpan ulasan',
  'reviews.form.saved': 'Ulasan tersimpan.',

  'reviews.error.rating': 'Pilih 1 sampai 5 bintang.',
  'reviews.error.tooLong': 'Ulasan paling banyak {max} karakter.',
  'reviews.error.html': 'Tulis teks biasa saja, tanpa HTML.',
  'reviews.error.invalid': 'Ulasan ini tidak bisa disimpan. Periksa lalu coba lagi.',
  'reviews.error.notBuyer':
    'Hanya anggota pesanan yang sudah diambil yang bisa mengulas barang ini.',
  'reviews.error.tooMany': 'Terlalu banyak ulasan sekaligus. Coba lagi dalam {seconds} detik.',

  'reviews.profile.link': 'Riwayat pesanan & ulasan',
  'reviews.profile.hint': 'Pesanan lama, struk, dan nilai untuk barang yang sudah kamu beli.',

  'reviews.staff.title': 'Ulasan pembeli',
  'reviews.staff.intro': 'Ulasan untuk barang yang diambil di {store}, terbaru dulu.',
  'reviews.staff.empty': 'Belum ada ulasan untuk toko ini.',
  'reviews.staff.failed': 'Ulasan tidak bisa dimuat sekarang.',
  'reviews.staff.order': 'Pesanan {id}',
};

export type ReviewsKey = keyof typeof messages;
export default messages;
