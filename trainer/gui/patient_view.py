"""The patient page: search the stored patients, create one with a pseudonymous id (name and
birth year optional, stored only in the local sessions database), and choose who is tested.

Every test run in the application is stored into a session of the chosen patient
(:mod:`cervitrack.trainer.stores.sessions`), exactly as ``cervitrack test`` stores it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from cervitrack.trainer.stores.sessions import Store


class PatientView(QtWidgets.QWidget):
    """``patient_chosen(patient_id)`` is emitted when a patient is created or chosen."""

    patient_chosen = QtCore.Signal(str)

    def __init__(self, store_factory=Store, parent=None) -> None:
        super().__init__(parent)
        self.store_factory = store_factory
        layout = QtWidgets.QVBoxLayout(self)
        title = QtWidgets.QLabel("Patient")
        title.setStyleSheet("font-size: 18px; font-weight: bold;")
        layout.addWidget(title)
        self.current_label = QtWidgets.QLabel("No patient chosen: choose one, or create one.")
        self.current_label.setObjectName("current_patient")
        self.current_label.setStyleSheet("font-size: 15px; font-weight: bold; color: #a00;")
        layout.addWidget(self.current_label)
        find = QtWidgets.QGroupBox("Find a patient")
        fv = QtWidgets.QVBoxLayout(find)
        self.search = QtWidgets.QLineEdit()
        self.search.setObjectName("patient_search")
        self.search.setPlaceholderText("Search by id or name")
        self.search.textChanged.connect(self.refresh)
        self.list = QtWidgets.QListWidget()
        self.list.setObjectName("patient_list")
        self.list.itemDoubleClicked.connect(lambda item: self._choose(item.data(QtCore.Qt.ItemDataRole.UserRole)))
        self.choose_button = QtWidgets.QPushButton("Use this patient")
        self.choose_button.setObjectName("patient_use")
        self.choose_button.clicked.connect(self._choose_selected)
        fv.addWidget(self.search)
        fv.addWidget(self.list, 1)
        fv.addWidget(self.choose_button)
        new = QtWidgets.QGroupBox("New patient")
        form = QtWidgets.QFormLayout(new)
        self.id_edit = QtWidgets.QLineEdit()
        self.id_edit.setObjectName("patient_id")
        self.id_edit.setPlaceholderText("pseudonymous id, e.g. P-0042 (no names here)")
        self.name_edit = QtWidgets.QLineEdit()
        self.name_edit.setObjectName("patient_name")
        self.name_edit.setPlaceholderText("optional; stored only on this computer")
        self.year_edit = QtWidgets.QLineEdit()
        self.year_edit.setObjectName("patient_birth_year")
        self.year_edit.setPlaceholderText("optional, e.g. 1970")
        self.create_button = QtWidgets.QPushButton("Create patient")
        self.create_button.setObjectName("patient_create")
        self.create_button.clicked.connect(self._create)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("patient_message")
        self.message.setWordWrap(True)
        form.addRow("Patient id", self.id_edit)
        form.addRow("Name", self.name_edit)
        form.addRow("Birth year", self.year_edit)
        form.addRow("", self.create_button)
        form.addRow("", self.message)
        note = QtWidgets.QLabel("Patient data stay in the local sessions database (owner-only file); "
                                "nothing is sent anywhere. Use a pseudonymous id in reports you share.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #555;")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(find, 1)
        row.addWidget(new, 1)
        layout.addLayout(row, 1)
        layout.addWidget(note)
        self.patient_id: str | None = None
        self.refresh()

    def refresh(self, *_args) -> None:
        try:
            with self.store_factory() as store:
                patients = store.patients(self.search.text())
        except OSError as exc:
            self.message.setText(f"The sessions database cannot be opened: {exc}")
            return
        self.list.clear()
        for p in patients:
            label = p["id"] + (f" ({p['name']})" if p.get("name") else "") + (
                f", born {p['birth_year']}" if p.get("birth_year") else "") + f" · {p['sessions']} sessions"
            item = QtWidgets.QListWidgetItem(label)
            item.setData(QtCore.Qt.ItemDataRole.UserRole, p["id"])
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)
        self.choose_button.setEnabled(self.list.count() > 0)

    def _choose_selected(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self._choose(item.data(QtCore.Qt.ItemDataRole.UserRole))

    def _create(self) -> None:
        pid = self.id_edit.text().strip()
        year_text = self.year_edit.text().strip()
        try:
            year = int(year_text) if year_text else None
        except ValueError:
            self.message.setText(f"The birth year must be a number, not {year_text!r}.")
            return
        try:
            with self.store_factory() as store:
                if pid and store.patient(pid) is not None:
                    self.message.setText(f"Patient {pid} exists already: find them on the left.")
                    return
                store.ensure_patient(pid, self.name_edit.text().strip() or None, year)
        except (ValueError, OSError) as exc:
            self.message.setText(str(exc).capitalize() + ".")
            return
        self.message.setText(f"Patient {pid} created.")
        for edit in (self.id_edit, self.name_edit, self.year_edit):
            edit.clear()
        self.refresh()
        self._choose(pid)

    def _choose(self, patient_id: str) -> None:
        self.set_patient(patient_id)
        self.patient_chosen.emit(patient_id)

    def set_patient(self, patient_id: str | None) -> None:
        self.patient_id = patient_id
        if patient_id is None:
            self.current_label.setText("No patient chosen: choose one, or create one.")
            self.current_label.setStyleSheet("font-size: 15px; font-weight: bold; color: #a00;")
        else:
            self.current_label.setText(f"Patient: {patient_id}")
            self.current_label.setStyleSheet("font-size: 15px; font-weight: bold; color: #070;")
