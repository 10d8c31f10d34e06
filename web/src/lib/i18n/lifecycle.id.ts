/** Leaving, removal and the deadline (issue 13): strings in Bahasa Indonesia (the default). `{name}` marks a parameter. */
export const messages = {
  'lifecycle.deadline.label': 'Batas waktu',
  'lifecycle.deadline.at': 'Batas waktu: {when}',
  'lifecycle.deadline.none': 'Belum ada batas waktu',
  'lifecycle.deadline.set': 'Atur batas waktu',
  'lifecycle.deadline.move': 'Ubah',
  'lifecycle.deadline.save': 'Simpan',
  'lifecycle.deadline.remove': 'Hapus batas waktu',
  'lifecycle.deadline.future': 'Pilih waktu yang belum lewat.',
  'lifecycle.deadline.explain':
    'Saat batas waktu lewat, pesanan dikirim otomatis; kalau keranjang kosong atau toko belum dipilih, ruangan dikunci.',
  'lifecycle.cancel': 'Batal',
  'lifecycle.members': 'Anggota ({count})',
  'lifecycle.left': 'sudah keluar',
  'lifecycle.remove': 'Keluarkan',
  'lifecycle.remove.label': 'Keluarkan {name}',
  'lifecycle.remove.confirm':
    'Keluarkan {name} dari ruangan? Barang yang dia tambahkan tetap di keranjang.',
  'lifecycle.readmit': 'Undang kembali',
  'lifecycle.leave': 'Keluar dari ruangan',
  'lifecycle.leave.confirm':
    'Keluar dari ruangan ini? Barangmu tetap di keranjang, dan hanya penyelenggara yang bisa mengundangmu kembali.',
  'lifecycle.youLeft': 'Kamu sudah tidak ada di ruangan ini.',
  'lifecycle.home': 'Ke beranda',
  'lifecycle.failed': 'Tidak berhasil. Coba lagi.',
  'lifecycle.ended.left': 'Kamu sudah keluar dari ruang ini',
  'lifecycle.ended.removed': 'Kamu dikeluarkan dari ruang ini',
  'lifecycle.ended.readonly':
    'Yang terlihat adalah isi terakhir ruangan; kamu tidak bisa mengubahnya lagi.',
  'lifecycle.removedPage':
    'Kamu sudah keluar atau dikeluarkan dari ruangan ini. Minta penyelenggara mengundangmu kembali.',
};

export type LifecycleKey = keyof typeof messages;
export default messages;
